#!/bin/sh
# Started as root, like nginx's master: temp folder for the workers' user,
# pid file in /run, bind port 80, then serve as 101:101 (busybox httpd
# switches user after binding).
set -eu

mkdir -p /var/cache/nginx/client_temp
chown 101:101 /var/cache/nginx/client_temp
echo $$ > /run/nginx.pid
exec httpd -f -p 80 -u 101:101 -h /usr/share/nginx/html
