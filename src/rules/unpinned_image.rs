//! `unpinned-image`: the image can change under the same name.
//!
#![doc = include_str!("../../docs/rules/unpinned-image.md")]

use super::{Context, Finding, FixSafety, Level, Rule, RuleMeta, Severity, hazard, site};
use crate::model::image::ImageRef;

pub struct UnpinnedImage;

const ID: &str = "unpinned-image";

static META: RuleMeta = RuleMeta {
    id: ID,
    summary: "the image is not pinned by tag or digest",
    severity: Severity::Low,
    fix: FixSafety::None,
    docs: include_str!("../../docs/rules/unpinned-image.md"),
};

impl Rule for UnpinnedImage {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context) -> Vec<Finding> {
        let mut findings = Vec::new();
        for service in &ctx.model.services {
            let Some(field) = service.field("image") else {
                continue;
            };
            let Some(raw) = ctx.tree.scalar(field.value) else {
                continue;
            };
            // A locally built image is named, not pulled.
            if service.value("build").is_some() {
                continue;
            }
            let Some(problem) = unpinned(raw) else {
                continue;
            };
            let (at, from) = site(ctx, service, field, field.key.unwrap_or(field.value));
            let mut finding = hazard(
                ID,
                service,
                at,
                format!(
                    "`{raw}`{from} {problem}: each pull can bring a different image; pin a version tag, or a digest (`@sha256:...`) for reproducible deploys"
                ),
            );
            finding.level = Level::Note;
            findings.push(finding);
        }
        findings
    }
}

/// What is wrong with an image reference, if it is not pinned. References
/// built from variables without a default cannot be judged.
fn unpinned(raw: &str) -> Option<&'static str> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return None;
    }
    let image = ImageRef::parse(trimmed);
    if image.digest.is_some() {
        return None;
    }
    let interpolated = trimmed.contains('$');
    match image.tag.as_deref() {
        // `${TAG}` without a default drops out and leaves no tag.
        None if interpolated => None,
        Some("") if interpolated => None,
        None => Some("has no tag, so it means `latest`"),
        Some("latest") => Some("uses the moving tag `latest`"),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::unpinned;

    #[test]
    fn tags_digests_and_variables() {
        for raw in [
            "nginx",
            "nginx:latest",
            "ghcr.io/org/app",
            "localhost:5000/app",
        ] {
            assert!(unpinned(raw).is_some(), "{raw}");
        }
        for raw in [
            "nginx:1.27",
            "nginx@sha256:0123abcd",
            "localhost:5000/app:2",
            "${IMAGE}",
            "app:${TAG}",
            "${REGISTRY:-docker.io}/nginx:${TAG:-1.27}",
        ] {
            assert!(unpinned(raw).is_none(), "{raw}");
        }
        assert!(unpinned("nginx:${TAG:-latest}").is_some());
    }
}
