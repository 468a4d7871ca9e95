//! Image references (`registry/namespace/name:tag@digest`) reduced to what
//! the knowledge table matches on.

/// A parsed `image:` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// As written in the file.
    pub raw: String,
    /// Repository path without registry host and without `library/`,
    /// lower-cased: `postgres`, `bitnami/postgresql`, `minio/minio`.
    pub path: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl ImageRef {
    pub fn parse(raw: &str) -> ImageRef {
        let resolved = with_defaults(raw.trim());
        let trimmed = resolved.as_str();
        let (rest, digest) = match trimmed.split_once('@') {
            Some((r, d)) => (r, Some(d.to_string())),
            None => (trimmed, None),
        };
        // A tag follows the last `:` that comes after the last `/`
        // (a `:` before it belongs to a registry port).
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (
                &rest[..last_slash + i],
                Some(rest[last_slash + i + 1..].to_string()),
            ),
            None => (rest, None),
        };
        let mut parts: Vec<&str> = name.split('/').collect();
        if parts.len() > 1
            && let Some(first) = parts.first()
            && (first.contains('.') || first.contains(':') || *first == "localhost")
        {
            parts.remove(0);
        }
        if parts.len() > 1 && parts.first() == Some(&"library") {
            parts.remove(0);
        }

        ImageRef {
            raw: raw.to_string(),
            path: parts.join("/").to_ascii_lowercase(),
            tag,
            digest,
        }
    }
}

/// The text with each `${VAR:-default}` / `${VAR-default}` replaced by its
/// default and each other interpolation dropped, so that
/// `${REGISTRY:-}postgres:${TAG:-16}` matches as `postgres:16`.
fn with_defaults(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let inner = &after[..end];
        let name_end = inner
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(inner.len());
        let op = &inner[name_end..];
        if let Some(default) = op.strip_prefix(":-").or_else(|| op.strip_prefix('-')) {
            out.push_str(default);
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_registry_library_tag_and_digest() {
        let r = ImageRef::parse("docker.io/library/postgres:16-alpine@sha256:abc");
        assert_eq!(r.path, "postgres");
        assert_eq!(r.tag.as_deref(), Some("16-alpine"));
        assert_eq!(r.digest.as_deref(), Some("sha256:abc"));
    }

    #[test]
    fn interpolation_defaults_are_used_for_matching() {
        let r = ImageRef::parse("${REGISTRY_MIRROR_URL:-}mariadb:10.11");
        assert_eq!(r.path, "mariadb");
        let r = ImageRef::parse("postgres:${POSTGRES_VERSION:-17.10-alpine}");
        assert_eq!(
            (r.path.as_str(), r.tag.as_deref()),
            ("postgres", Some("17.10-alpine"))
        );
        assert_eq!(
            ImageRef::parse("${DOCKER_REGISTRY}confluentinc/cp-server:${TAG:-latest}").path,
            "confluentinc/cp-server"
        );
        assert_eq!(ImageRef::parse("redis:${REDIS_VERSION}").path, "redis");
    }

    #[test]
    fn keeps_namespaces_and_registry_ports() {
        assert_eq!(ImageRef::parse("quay.io/minio/minio").path, "minio/minio");
        let r = ImageRef::parse("localhost:5000/team/app:1.2");
        assert_eq!(r.path, "team/app");
        assert_eq!(r.tag.as_deref(), Some("1.2"));
        assert_eq!(ImageRef::parse("bitnami/redis").path, "bitnami/redis");
    }
}
