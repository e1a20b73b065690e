#!/usr/bin/env bash
# Start what the test suite talks to, if it is not running: PostgreSQL, Redis, and
# Debian's chromium for the browser tests, a Java runtime for the Spark backend's test,
# SpamAssassin for the newsletter's spam score.
# Safe to run again and again.
# With --bench, also Postfix's smtp-sink and smtp-source (the send benchmark's SMTP sink).
set -euo pipefail

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
fi

if ! command -v chromium >/dev/null 2>&1; then
  echo "installing chromium for the browser tests"
  if [ "$(id -u)" = "0" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null \
      || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }
  else
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null
  fi
fi

if ! command -v java >/dev/null 2>&1; then
  echo "installing a Java runtime for the Spark matching backend's test"
  if [ "$(id -u)" = "0" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q openjdk-17-jre-headless >/dev/null \
      || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q openjdk-17-jre-headless >/dev/null; }
  else
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q openjdk-17-jre-headless >/dev/null
  fi
fi

if [ "${1:-}" = "--bench" ] && ! command -v smtp-sink >/dev/null 2>&1 && [ ! -x /usr/sbin/smtp-sink ]; then
  echo "installing postfix for smtp-sink and smtp-source (the send benchmark)"
  install_postfix() {
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q postfix >/dev/null \
      || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postfix >/dev/null; }
  }
  if [ "$(id -u)" = "0" ]; then
    install_postfix
  else
    sudo bash -c "$(declare -f install_postfix); install_postfix"
  fi
fi

if ! command -v spamassassin >/dev/null 2>&1; then
  # Scores the demo newsletter with its shipped rules only (tests/outreach/test_spam_score.py); no sa-update.
  echo "installing spamassassin for the newsletter's spam score test"
  install_spamassassin() {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends spamassassin >/dev/null \
      || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends spamassassin >/dev/null; }
  }
  if [ "$(id -u)" = "0" ]; then
    install_spamassassin || echo "spamassassin could not be installed; its test will be skipped, saying so"
  else
    sudo bash -c "$(declare -f install_spamassassin); install_spamassassin" \
      || echo "spamassassin could not be installed; its test will be skipped, saying so"
  fi
fi
