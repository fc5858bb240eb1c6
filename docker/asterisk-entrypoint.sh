#!/bin/sh
# Install the repository's configuration (mounted read-only) over the package defaults, the
# ARI password from the shared secrets volume, and the prompts built by the ivr container.
set -eu
for folder in /winet/asterisk-config /winet/dialplan; do
  cp "$folder"/*.conf /etc/asterisk/
done
secret=/var/lib/winet-hotline/secrets/ari-password
if [ ! -s "$secret" ]; then
  mkdir -p "$(dirname "$secret")"
  (umask 077; head -c 18 /dev/urandom | base64 | tr '+/' '-_' > "$secret")
fi
printf 'password = %s\n' "$(cat "$secret")" > /etc/asterisk/ari-password.conf
chmod 600 /etc/asterisk/ari-password.conf
for lang in de fr it en; do
  mkdir -p "/winet/sounds/$lang/winet"
  target=$(readlink -f "/usr/share/asterisk/sounds/$lang" 2>/dev/null || echo "/usr/share/asterisk/sounds/$lang")
  mkdir -p "$target"
  ln -sfn "/winet/sounds/$lang/winet" "$target/winet"
done
mkdir -p /var/spool/asterisk/recording
chown -R root:root /etc/asterisk /var/lib/asterisk /var/spool/asterisk /var/log/asterisk
exec asterisk -f -n
