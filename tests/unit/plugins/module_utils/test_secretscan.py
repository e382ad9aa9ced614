# Copyright (c) replatform.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The build-context secret scan: every rule with a positive and a negative case, allow entries, no value in any output."""

from __future__ import annotations

import json

import pytest

from ansible_collections.replatform.kubernetes.plugins.module_utils._secretscan import (
    RULES,
    SecretScanError,
    format_findings,
    is_secret_key,
    operator_patterns,
    scan_context,
    scan_text,
    validate_allow,
)
from ansible_collections.replatform.kubernetes.tests.unit.plugins.module_utils.lab_captures import (
    API_KEY,
    DB_PASSWORD,
    HMAC_SECRET,
    SASL_PASSWORD,
    fixture,
)

# Made-up key bodies (base64-looking, not real keys).
BODY = "MIIEowIBAAKCAQEAzz63FfkCzJr4i0B3JrTAwR4y9ojfljoQoaF1LlqsajAIxNKu"
BODY2 = "UvTCQCyEZDz/TddJ8HyS5SUkCnD8zRA9a9SkpXz9w3QlY7Zkuvqdt7s8Stqcbnr3"


def pem(kind: str, headers: str = "") -> str:
    label = "%s PRIVATE KEY" % kind if kind else "PRIVATE KEY"
    return "-----BEGIN %s-----\n%s%s\n%s\n-----END %s-----\n" % (label, headers, BODY, BODY2, label)


PGP = "-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n\n%s\n%s\n-----END PGP PRIVATE KEY BLOCK-----\n" % (BODY, BODY2)
DEK = "Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,CCCC3FC1626E53A13043B026C48BBF33\n\n"

AWS = "AKIAVQ4K7BN7XJ8B7TFQ"
GHP = "ghp_F4vUCsMehGAkWvj7FAc9QeWJKY40uvSwMFLZ"
GHO = "gho_" + "De1f8rESQedUStPKR0CsTy4Qwb8DwkNhFdnX"
GH_PAT_RANDOM = "11BQZ7KXA0u8jzPde0IgxL_d6GnKLzdocJ2isAjIhKtJ0RlgLKOmxgJTeKdNnFRIBXuDL7DxtpYlSXpfKtH"
SLACK = "xoxb-1234567890-0987654321-cfBAepfJBd0Kh8oOOL8d"
STRIPE = "sk_live_KLzdocJ2isAjIhKtJ0RlgLKO"
STRIPE_RK = "rk_live_mxgJTeKdNnFRIBXuDL7DxtpYlSXp"
GOOGLE = "AIzaSyD4vUCsMehGAkWvj7FAc9QeWJKY40uvSwM"
JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzdmMtYmlsbGluZyJ9.u8jzPde0IgxLd6GnKLzdocJ2isAjIhKtJ0Rlg"
SENDGRID = "SG.u8jzPde0IgxLd6Gn.KLzdocJ2isAjIhKtJ0RlgLKOmxgJTeKdNnFRIBXuDL7"
BEARER = "De1f8rESQedUStPKR0CsTy4Qwb8DwkNh"
HIGH = "u8jzPde0IgxLd6GnKLzdocJ2"
HEX40 = "cccc3fc1626e53a13043b026c48bbf33feff9243"
LOW = "hunter2hunter2"
BINARY_HEAD = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56 + bytes(range(11, 200))  # no newline: the binary has one line before the payload

# (path, content, [(line, rule, key)], the secret: no 4 characters of it may appear in any output)
POSITIVE = [
    pytest.param("/etc/ssl/private/app.key", pem("RSA"), [(1, "private_key", None)], BODY, id="pem-rsa"),
    pytest.param("/etc/app/keys.pem", "# service key\n" + pem("EC"), [(2, "private_key", None)], BODY, id="pem-ec"),
    pytest.param("/home/app/.ssh/id_ed25519", pem("OPENSSH"), [(1, "private_key", None)], BODY, id="pem-openssh"),
    pytest.param("/etc/app/tls.key", pem("ENCRYPTED"), [(1, "private_key", None)], BODY, id="pem-pkcs8-encrypted"),
    pytest.param("/etc/app/dsa.key", pem("DSA", DEK), [(1, "private_key", None)], BODY, id="pem-dsa-legacy-encrypted"),
    pytest.param(
        "/etc/app/gcp.json",
        '{"type": "service_account",\n "private_key": "-----BEGIN PRIVATE KEY-----\\n%s\\n-----END PRIVATE KEY-----\\n"}\n' % BODY,
        [(2, "private_key", None)], BODY, id="pem-pkcs8-in-json",
    ),
    pytest.param("/root/.gnupg/backup.asc", "key for signing\n" + PGP, [(2, "private_key", None)], BODY, id="pgp-private-key-block"),
    pytest.param("/etc/app/app.ini", "[aws]\naws_access_key_id = %s\n" % AWS, [(2, "aws_access_key", "aws_access_key_id")], AWS, id="aws-akia"),
    pytest.param("/etc/app/app.ini", "# temporary creds %s\n" % AWS.replace("AKIA", "ASIA"), [(1, "aws_access_key", None)],
                 AWS.replace("AKIA", "ASIA"), id="aws-asia-in-comment"),
    pytest.param("/opt/app/.env", "GITHUB_TOKEN=%s\n" % GHP, [(1, "github_token", "GITHUB_TOKEN")], GHP, id="github-ghp"),
    pytest.param("/opt/app/deploy.py", 'TOKEN = "%s"\n' % GHO, [(1, "github_token", "TOKEN")], GHO, id="github-gho-in-code"),
    # The fixed public prefix "github_pat_" is the format's name (and the rule's): only the part after it is secret.
    pytest.param("/etc/app/ci.yml", "token: github_pat_%s\n" % GH_PAT_RANDOM, [(1, "github_token", "token")], GH_PAT_RANDOM, id="github-pat"),
    pytest.param("/opt/app/bin/notify.sh", 'SLACK_BOT_TOKEN="%s"\n' % SLACK, [(1, "slack_token", "SLACK_BOT_TOKEN")], SLACK, id="slack"),
    pytest.param("/var/www/app/config.php", "<?php\ndefine('STRIPE_SECRET', '%s');\n" % STRIPE, [(2, "stripe_key", "STRIPE_SECRET")], STRIPE,
                 id="stripe-sk-live"),
    pytest.param("/etc/app/billing.json", '{"restricted": "%s"}\n' % STRIPE_RK, [(1, "stripe_key", "restricted")], STRIPE_RK, id="stripe-rk-live"),
    pytest.param("/srv/site/web.config", '<appSettings>\n  <add key="MapsApiKey" value="%s"/>\n</appSettings>\n' % GOOGLE,
                 [(2, "google_api_key", "MapsApiKey")], GOOGLE, id="google-api-key-dotnet"),
    pytest.param("/opt/app/static/map.js", "// key: %s\n" % GOOGLE, [(1, "google_api_key", None)], GOOGLE, id="google-api-key-in-comment"),
    pytest.param("/etc/app/app.ini", "session_token = %s\n" % JWT, [(1, "jwt", "session_token")], JWT, id="jwt"),
    pytest.param("/etc/default/app", "SENDGRID_API_KEY=%s\n" % SENDGRID, [(1, "sendgrid_key", "SENDGRID_API_KEY")], SENDGRID, id="sendgrid"),
    pytest.param("/opt/app/bin/poll.sh", 'curl -s -H "Authorization: Bearer %s" https://api.example.com/v1/jobs\n' % BEARER,
                 [(1, "authorization_header", None)], BEARER, id="authorization-bearer"),
    pytest.param("/etc/nginx/conf.d/upstream.conf", '    proxy_set_header Authorization "Basic %s";\n' % BEARER,
                 [(1, "authorization_header", None)], BEARER, id="authorization-basic-nginx"),
    pytest.param("/etc/default/app", "DATABASE_URL=postgres://billing:Wint3r-Relay-2019@db.internal:5432/billing\n",
                 [(1, "url_credentials", "DATABASE_URL")], "Wint3r-Relay-2019", id="url-credentials"),
    pytest.param("/etc/app/app.properties", "jdbc.url=jdbc:mysql://db:3306/app?user=app&password=Rl4y-Xq93-mT7w\n",
                 [(1, "url_credentials", "jdbc.url")], "Rl4y-Xq93-mT7w", id="url-query-password"),
    pytest.param("/etc/app/app.ini", "[sign]\nsigning_key = %s\n" % HIGH, [(2, "entropy_assignment", "signing_key")], HIGH, id="entropy-ini"),
    pytest.param("/etc/app/app.ini", "cookie_seed = mxgJTeKdNnFRIBXuDL7DxtpYlSXpfKtH\n", [(1, "entropy_assignment", "cookie_seed")],
                 "mxgJTeKdNnFRIBXuDL7DxtpYlSXpfKtH", id="entropy-any-key-token-shaped"),
    pytest.param("/etc/app/app.ini", "cookie_seed = %s\n" % HEX40, [(1, "entropy_assignment", "cookie_seed")], HEX40, id="entropy-hex-40"),
    pytest.param("/etc/app/oauth.json", '{\n  "client_secret": "F4vUCsMehGAkWvj7FAc9QeWJKY40uvSw"\n}\n',
                 [(2, "entropy_assignment", "client_secret")], "F4vUCsMehGAkWvj7FAc9QeWJKY40uvSw", id="entropy-json"),
    pytest.param("/etc/redis/redis.conf", "masterauth cfBAepfJBd0Kh8oOOL8d\n", [(1, "entropy_assignment", "masterauth")],
                 "cfBAepfJBd0Kh8oOOL8d", id="entropy-key-space-value"),
    pytest.param("/opt/app/bin/start.sh", "#!/bin/sh\nexport API_TOKEN=KLzdocJ2isAjIhKtJ0RlgLKO\nexec app\n",
                 [(2, "entropy_assignment", "API_TOKEN")], "KLzdocJ2isAjIhKtJ0RlgLKO", id="entropy-shell-export"),
    pytest.param("/opt/app/static/app.js", "const apiKey = 'zz63FfkCzJr4i0B3JrTA';\n", [(1, "entropy_assignment", "apiKey")],
                 "zz63FfkCzJr4i0B3JrTA", id="entropy-js-literal"),
    pytest.param("/etc/app/app.ini", "api_token = 3f1d2a4b-9c8e-4f7a-b6d5-1e2f3a4b5c6d\n", [(1, "entropy_assignment", "api_token")],
                 "3f1d2a4b-9c8e-4f7a-b6d5-1e2f3a4b5c6d", id="entropy-uuid-under-secret-key"),
    pytest.param("/etc/postfix/sasl_passwd", fixture("mail1_sasl_passwd"), [(2, "entropy_assignment", "sasl_passwd")], SASL_PASSWORD,
                 id="entropy-credential-map"),
    pytest.param("/etc/redis/redis.conf", "bind 127.0.0.1\nrequirepass %s\n" % LOW, [(2, "secret_assignment", "requirepass")], LOW,
                 id="secret-redis-requirepass"),
    pytest.param("/etc/app/app.ini", "password = changeme1\n", [(1, "secret_assignment", "password")], "changeme1", id="secret-ini-low-entropy"),
    pytest.param("/var/www/app/config.php", "<?php\n$db_pass = '%s';\n" % LOW, [(2, "secret_assignment", "db_pass")], LOW, id="secret-php-variable"),
    pytest.param("/var/www/app/wp-config.php", "define('DB_PASSWORD', '%s');\n" % LOW, [(1, "secret_assignment", "DB_PASSWORD")], LOW,
                 id="secret-php-define"),
    pytest.param("/etc/app/settings.xml", "<db>\n  <password>changeme1</password>\n</db>\n", [(2, "secret_assignment", "password")],
                 "changeme1", id="secret-xml-element"),
    pytest.param("/etc/tomcat9/tomcat-users.xml", '<user username="admin" password="Qu1ckSilver" roles="manager-gui"/>\n',
                 [(1, "secret_assignment", "password")], "Qu1ckSilver", id="secret-xml-attribute"),
    pytest.param("/etc/app/config.yml", "db:\n  - password: s4ndc4stle\n", [(2, "secret_assignment", "password")], "s4ndc4stle", id="secret-yaml"),
    pytest.param("/opt/app/Dockerfile", "FROM debian\nENV DB_PASSWORD %s\n" % LOW, [(2, "secret_assignment", "DB_PASSWORD")], LOW,
                 id="secret-dockerfile-env"),
    pytest.param("/etc/systemd/system/app.service", "[Service]\nExecStart=/usr/bin/app --db-password=%s --port 8080\n" % LOW,
                 [(2, "secret_assignment", "db-password")], LOW, id="secret-command-line-flag"),
    pytest.param("/opt/app/settings.py", 'PASSWORD = "%s"\n' % LOW, [(1, "secret_assignment", "PASSWORD")], LOW, id="secret-python-literal"),
    pytest.param("/opt/app/lib/Db.pm", 'my $password = "%s";\n' % LOW, [(1, "secret_assignment", "password")], LOW, id="secret-perl-literal"),
    pytest.param("/opt/app/config/db.rb", "  :password => '%s',\n" % LOW, [(1, "secret_assignment", "password")], LOW, id="secret-ruby-hash"),
    pytest.param("/etc/app/app.properties", "spring.datasource.password=%s\n" % LOW, [(1, "secret_assignment", "spring.datasource.password")], LOW,
                 id="secret-java-properties"),
    # The key shares "pass" with the value: reporting it would reveal part of the value.
    pytest.param("/etc/app/app.ini", "password = password123!\n", [(1, "secret_assignment", None)], "password123!", id="secret-key-dropped"),
    pytest.param("/usr/local/bin/app", BINARY_HEAD + b"\n\x00\x01" + pem("RSA").encode() + b"\x00\xff", [(2, "private_key", None)], BODY,
                 id="binary-embedded-pem"),
    pytest.param("/usr/local/bin/app", BINARY_HEAD + b"\x00aws=" + AWS.encode() + b"\x00password=hunter2hunter2\x00",
                 [(1, "aws_access_key", None)], AWS, id="binary-token-only"),
]


@pytest.mark.parametrize("path, content, expected, secret", POSITIVE)
def test_positive(path, content, expected, secret):
    data = content if isinstance(content, bytes) else content.encode()
    assert [(f["line"], f["rule"], f["key"]) for f in scan_text(path, data)] == expected
    assert all(f["file"] == path for f in scan_text(path, data))


@pytest.mark.parametrize("path, content, expected, secret", POSITIVE)
def test_no_part_of_the_value_in_any_output(path, content, expected, secret):
    data = content if isinstance(content, bytes) else content.encode()
    result = scan_context({path: data})
    outputs = [json.dumps(result), format_findings(result["findings"])]
    allowed = scan_context({path: data}, [{"file": path, "reason": "lab fixture"}])
    outputs += [json.dumps(allowed), format_findings(allowed["allowed"])]
    assert result["findings"] and allowed["allowed"]
    for output in outputs:
        leaked = [secret[i:i + 4] for i in range(len(secret) - 3) if secret[i:i + 4] in output]
        assert not leaked, output


NEGATIVE = [
    pytest.param("/etc/ssl/certs/app.pem", "-----BEGIN PUBLIC KEY-----\n%s\n-----END PUBLIC KEY-----\n" % BODY, id="pem-public-key"),
    pytest.param("/etc/ssl/certs/app.crt", "-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----\n" % BODY, id="pem-certificate"),
    pytest.param("/opt/app/keys.py", 'if data.startswith("-----BEGIN RSA PRIVATE KEY-----"):\n    return load(data)\n', id="pem-marker-in-code"),
    pytest.param("/etc/app/app.ini", "# AKIAVQ4K7BN7 and akiavq4k7bn7xj8b7tfq\n", id="aws-short-or-lowercase"),
    pytest.param("/etc/app/app.ini", "# ghp_F4vUCsMehGAkWvj7 github_pat_short\n", id="github-short"),
    pytest.param("/etc/app/app.ini", "# xoxb-12345 xoxz-1234567890-0987654321\n", id="slack-short-or-unknown"),
    pytest.param("/etc/app/app.ini", "# sk_test_KLzdocJ2isAjIhKtJ0RlgLKO pk_live_KLzdocJ2isAjIhKtJ0RlgLKO\n", id="stripe-test-or-publishable"),
    pytest.param("/etc/app/app.ini", "# AIzaSyD4vUCsMehGAkWvj7\n", id="google-short"),
    pytest.param("/etc/app/app.ini", "# eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0 has two segments\n", id="jwt-two-segments"),
    pytest.param("/etc/app/app.ini", "# SG.short.x SG.u8jzPde0IgxLd6Gn\n", id="sendgrid-short"),
    pytest.param("/opt/app/bin/poll.sh", 'curl -H "Authorization: Bearer ${API_TOKEN}" https://api.example.com/\n', id="bearer-variable"),
    pytest.param("/opt/app/README.md", "Send `Authorization: Bearer <token>`; the authorization token expires daily.\n", id="bearer-placeholder"),
    pytest.param("/opt/app/client.py", 'headers = {"Authorization": "Bearer " + token}\n', id="bearer-concatenated"),
    pytest.param("/etc/default/app", "DATABASE_URL=postgres://app:${DB_PASS}@db/app\n", id="url-shell-variable"),
    pytest.param("/etc/app/app.ini", "url = postgres://app:%(password)s@db/app\n", id="url-percent-format"),
    pytest.param("/etc/app/app.yml", "url: postgres://app:{{db_password}}@db/app\n", id="url-jinja"),
    pytest.param("/etc/default/app", "DATABASE_URL=postgres://app:$DB_PASS@db/app\n", id="url-dollar-variable"),
    pytest.param("/opt/app/README.txt", "url = postgres://app:<password>@db/app\n", id="url-angle-placeholder"),
    pytest.param("/etc/app/app.ini", "dsn = postgres://app:***@db/app\nalt = mysql://app:xxx@db/app\n", id="url-masked"),
    pytest.param("/etc/app/app.ini", "dsn = postgres://app:@db/app\nalt = http://app@db/app\n", id="url-empty-or-no-password"),
    pytest.param("/opt/app/db.py", 'url = f"postgres://{user}:{password}@{host}/app"\n', id="url-python-format"),
    pytest.param("/etc/app/app.ini", "pid_file = /var/run/app/x8Kq2mZ7vB4nR9tLw3Yp.pid\n", id="entropy-path"),
    pytest.param("/etc/app/app.ini", "homepage = https://example.com/a8Kq2mZ7vB4nR9tLw3Yp\n", id="entropy-url"),
    pytest.param("/etc/app/app.ini", "request_id = 3f1d2a4b-9c8e-4f7a-b6d5-1e2f3a4b5c6d\n", id="entropy-uuid-plain-key"),
    pytest.param("/etc/app/app.ini", "release = 2.14.7-rc1+build.20240101\n", id="entropy-version"),
    pytest.param("/etc/app/app.ini", "server_name = api-gateway.prod-eu-west-1.example.internal\n", id="entropy-hostname"),
    pytest.param("/etc/app/app.ini", "description = A high performance web server and a reverse proxy\n", id="entropy-sentence"),
    pytest.param("/etc/app/app.ini", "checksum = sha256:UvTCQCyEZDz/TddJ8HyS5SUkCnD8zRA9a9SkpXz9w3Q=\n", id="entropy-digest"),
    pytest.param("/opt/app/package-lock.json", '    "integrity": "sha512-%s==",\n' % BODY2, id="entropy-npm-integrity"),
    pytest.param("/etc/app/app.ini", "commit = %s\nshort = 9c41d7e2b86a4f05\n" % HEX40, id="entropy-commit-and-short-hex"),
    pytest.param("/etc/app/app.ini", "cache_name = aaaaaaaabbbbbbbbcccc\n", id="entropy-low"),
    pytest.param("/etc/app/app.ini", "password_file = /etc/app/db.pass\nkey_file = server-snakeoil\n", id="exclusion-file-keys"),
    pytest.param("/etc/app/app.ini", "keyfile = snakeoil-server\nssl_key = snakeoil-server\n", id="exclusion-keyfile-ssl-key"),
    pytest.param("/etc/app/app.ini", "passwordless = enabled\npass_through = headers-only\n", id="exclusion-passwordless-pass-through"),
    pytest.param("/etc/app/search.ini", "tokenizer = standard-analyzer\nkeepalive = keepalive-pool\n", id="exclusion-tokenizer-keepalive"),
    pytest.param("/etc/app/cache.ini", "keys_zone = static_cache_zone\nprimary_key = customer_number\nsort_key = created_at_desc\n",
                 id="exclusion-keys-zone-primary-sort-key"),
    pytest.param("/etc/nginx/sites-enabled/app", "location / {\n  proxy_pass http://backend_upstream;\n  fastcgi_pass unix:/run/php/fpm.sock;\n"
                 '  auth_basic "Restricted Area";\n  keepalive_timeout 65;\n}\n', id="exclusion-nginx"),
    pytest.param("/etc/ssh/sshd_config", "PasswordAuthentication no\nPubkeyAuthentication yes\nAuthorizedKeysFile .ssh/authorized_keys\n",
                 id="exclusion-sshd"),
    pytest.param("/etc/apache2/sites-enabled/app.conf", 'AuthType Basic\nAuthName "Members Only"\nSSLPassPhraseDialog builtin\n', id="exclusion-apache"),
    pytest.param("/etc/postgresql/15/main/postgresql.conf", "password_encryption = scram-sha-256\nauthentication_timeout = 1min\n",
                 id="exclusion-postgres"),
    pytest.param("/etc/app/app.ini", "password = true\nsecret = none\nauth = required\npin_password = 12345678\n", id="plain-words-and-numbers"),
    pytest.param("/opt/app/app.py", 'api_key = cfg["api_key"]\ntoken = os.environ["TOKEN"]\n', id="code-lookups"),
    pytest.param("/var/www/app/db.php", "<?php\n$password = getenv('PASSWORD');\n$cfg = ['password' => getenv('DB_PASS')];\n", id="code-getenv"),
    pytest.param("/opt/app/app.py", 'password = os.environ.get("X")\npassword = None\npassword = ""\n', id="code-environ-none-empty"),
    pytest.param("/opt/app/lib/Db.pm", "$password = $ENV{DB_PASS};\nmy $token = $ENV{'API_TOKEN'};\n", id="code-perl-env"),
    pytest.param("/opt/app/static/app.js", "const token = process.env.API_TOKEN;\n", id="code-js-env"),
    pytest.param("/opt/app/settings.py", 'SECRET_KEY_ENV = "DJANGO_SECRET_KEY"\n', id="code-env-variable-name"),
    pytest.param("/etc/app/app.ini", "# password = %s\n; secret = %s\n" % (LOW, LOW), id="comment-hash-semicolon"),
    pytest.param("/opt/app/static/app.js", "// apiKey = 'zz63FfkCzJr4i0B3JrTA'\n/* token: %s */\n" % LOW, id="comment-slashes"),
    pytest.param("/etc/app/settings.xml", "<!-- <password>%s</password> -->\n" % LOW, id="comment-xml"),
    pytest.param("/etc/app/app.ini", "password = file:/run/secrets/db_password\ntoken = env:API_TOKEN\n", id="reference-file-env"),
    pytest.param("/opt/app/bin/start.sh", "DB_PASSWORD=$(cat /run/secrets/db)\nAPI_TOKEN=${API_TOKEN:-}\n", id="reference-shell"),
    pytest.param("/etc/app/app.ini", "password = {{ vault_db_password }}\nsecret = %(db_secret)s\ntoken = <your token here>\n", id="reference-templates"),
    pytest.param("/etc/app/app.ini", "password = ********\nsecret = xxxxxxxx\n", id="reference-masked"),
    pytest.param("/etc/postfix/main.cf", "smtp_sasl_password_maps = hash:/etc/postfix/sasl_passwd\n", id="reference-postfix-table"),
    pytest.param("/usr/local/bin/app", BINARY_HEAD + b"\x00password=hunter2hunter2\x00api_key = u8jzPde0IgxLd6GnKLzdocJ2\x00", id="binary-assignments"),
]


@pytest.mark.parametrize("path, content", NEGATIVE)
def test_negative(path, content):
    data = content if isinstance(content, bytes) else content.encode()
    assert scan_text(path, data) == []


def test_lab_fixtures():
    files = {
        "/etc/esp-api/esp-api.conf": fixture("web1_esp-api.conf").encode(),
        "/etc/default/esp-api": fixture("web1_default_esp-api").encode(),
        "/etc/esp-tracker/tracker.conf": fixture("web1_tracker.conf").encode(),
        "/etc/postfix/main.cf": fixture("mail1_main.cf").encode(),
        "/etc/postfix/sasl_passwd": fixture("mail1_sasl_passwd").encode(),
    }
    result = scan_context(files)
    assert [(f["file"], f["line"], f["key"]) for f in result["findings"]] == [
        ("/etc/esp-api/esp-api.conf", 10, "api_key"),
        ("/etc/esp-api/esp-api.conf", 17, "db_password"),
        ("/etc/esp-tracker/tracker.conf", 6, "hmac_secret"),
        ("/etc/postfix/sasl_passwd", 2, "sasl_passwd"),
    ]
    text = json.dumps(result) + format_findings(result["findings"])
    for secret in (API_KEY, DB_PASSWORD, HMAC_SECRET, SASL_PASSWORD):
        assert not [secret[i:i + 4] for i in range(len(secret) - 3) if secret[i:i + 4] in text]


def test_rules_are_documented():
    ids = [rule for rule, _description in RULES]
    assert len(ids) == len(set(ids)) == 12
    assert all(description for _rule, description in RULES)
    assert {"private_key", "url_credentials", "entropy_assignment", "secret_assignment"} <= set(ids)


def test_format_findings():
    content = "\n" * 11 + "signing_key = %s\n" % HIGH
    findings = scan_text("/etc/app/app.ini", content.encode())
    assert format_findings(findings) == "/etc/app/app.ini line 12: high-entropy value of 'signing_key' (entropy_assignment)"
    assert format_findings([]) == ""
    allowed = scan_context({"/etc/app/app.ini": content.encode()}, [{"file": "/etc/app/app.ini", "reason": "test vector"}])["allowed"]
    assert format_findings(allowed).endswith("(entropy_assignment), allowed: test vector")


def test_scan_context_sorted():
    files = {
        "/etc/b.ini": ("x = 1\ntoken = %s\npassword = changeme1\n" % HIGH).encode(),
        "/etc/a.ini": ("password = changeme1\n# %s\n" % AWS).encode(),
    }
    result = scan_context(files)
    assert [(f["file"], f["line"], f["rule"]) for f in result["findings"]] == [
        ("/etc/a.ini", 1, "secret_assignment"),
        ("/etc/a.ini", 2, "aws_access_key"),
        ("/etc/b.ini", 2, "entropy_assignment"),
        ("/etc/b.ini", 3, "secret_assignment"),
    ]
    assert result["allowed"] == []


ALLOW_FILES = {
    "/etc/app/app.ini": ("signing_key = %s\npassword = changeme1\n" % HIGH).encode(),
    "/etc/redis/redis.conf": ("requirepass %s\n" % LOW).encode(),
}


@pytest.mark.parametrize("allow, allowed", [
    pytest.param([{"file": "/etc/redis/redis.conf", "reason": "lab only"}], [("/etc/redis/redis.conf", 1, "secret_assignment")], id="file"),
    pytest.param([{"file": "/etc/app/app.ini", "line": 2, "reason": "test password"}], [("/etc/app/app.ini", 2, "secret_assignment")], id="file-line"),
    pytest.param([{"file": "/etc/app/app.ini", "rule": "entropy_assignment", "reason": "public test vector"}],
                 [("/etc/app/app.ini", 1, "entropy_assignment")], id="file-rule"),
    pytest.param([{"file": "/etc/app/app.ini", "line": 1, "rule": "secret_assignment", "reason": "wrong rule"},
                  {"file": "/etc/app/app.ini", "line": 7, "reason": "wrong line"},
                  {"file": "/etc/app/other.ini", "reason": "wrong file"}], [], id="not-matching"),
])
def test_allow(allow, allowed):
    result = scan_context(ALLOW_FILES, allow)
    assert [(f["file"], f["line"], f["rule"]) for f in result["allowed"]] == allowed
    assert all(f["reason"] for f in result["allowed"])
    assert len(result["findings"]) + len(result["allowed"]) == 3
    reasons = {entry["reason"] for entry in allow}
    assert all(f["reason"] in reasons for f in result["allowed"])


@pytest.mark.parametrize("allow, message", [
    pytest.param([{"file": "/etc/app/app.ini"}], "containerize_secret_allow[0].reason: a reason is required (why this is not a secret)", id="no-reason"),
    pytest.param([{"file": "/etc/a", "reason": "x"}, {"file": "/etc/b", "reason": "y"}, {"file": "/etc/c", "reason": "  "}],
                 "containerize_secret_allow[2].reason: a reason is required (why this is not a secret)", id="blank-reason"),
    pytest.param([{"file": "etc/app.ini", "reason": "x"}], "containerize_secret_allow[0].file: 'etc/app.ini' is not an absolute path", id="relative-file"),
    pytest.param([{"reason": "x"}], "containerize_secret_allow[0].file: None is not an absolute path", id="no-file"),
    pytest.param([{"file": "/etc/a", "reason": "x", "rule": "foo"}],
                 "containerize_secret_allow[0].rule: 'foo' is not one of private_key, aws_access_key, github_token, ", id="bad-rule"),
    pytest.param([{"file": "/etc/a", "reason": "x", "line": 0}], "containerize_secret_allow[0].line: 0 is not a positive line number", id="line-0"),
    pytest.param([{"file": "/etc/a", "reason": "x", "line": True}], "containerize_secret_allow[0].line: True is not a positive", id="line-bool"),
    pytest.param([{"file": "/etc/a", "reason": "x", "line": "3"}], "containerize_secret_allow[0].line: '3' is not a positive", id="line-str"),
    pytest.param(["/etc/a"], "containerize_secret_allow[0]: must be a dict with file and reason, not str", id="not-a-dict"),
    pytest.param([{"file": "/etc/a", "reason": "x", "value": "s3cret"}], "containerize_secret_allow[0]: unknown field value", id="unknown-field"),
    pytest.param({"file": "/etc/a", "reason": "x"}, "containerize_secret_allow: must be a list", id="not-a-list"),
])
def test_validate_allow_errors(allow, message):
    with pytest.raises(SecretScanError) as exc:
        validate_allow(allow)
    assert message in str(exc.value)
    assert isinstance(exc.value, ValueError)
    with pytest.raises(SecretScanError):
        scan_context(ALLOW_FILES, allow)


def test_validate_allow_normalizes():
    assert validate_allow(None) == []
    assert validate_allow([{"file": "/etc/a", "reason": " lab only ", "line": 3, "rule": "jwt"}]) == [
        {"file": "/etc/a", "reason": "lab only", "line": 3, "rule": "jwt"}
    ]


def test_scan_built_context_names_file_and_line_and_stops():
    from ansible_collections.replatform.kubernetes.plugins.module_utils._secretscan import SecretScanError, scan_built_context

    token = "ghp_" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7c"
    context = {"containerfile": "FROM x\nENV A=b\n", "files": {"rootfs/srv/app/settings.py": ("TOKEN = '%s'\n" % token).encode()}}
    with pytest.raises(SecretScanError) as info:
        scan_built_context(context)
    message = str(info.value)
    assert "/srv/app/settings.py line 1:" in message and "(github_token)" in message and "containerize_secret_allow" in message
    assert token[4:] not in message and token[8:20] not in message
    allowed = scan_built_context(context, [{"file": "/srv/app/settings.py", "rule": "github_token", "reason": "a revoked test token"}])
    assert allowed["findings"] == [] and allowed["allowed"][0]["reason"] == "a revoked test token"


def test_operator_secret_keys_extend_the_scan():
    # A home-grown daemon names its credential 'launchcode': no built-in word says secret.
    data = b"launchcode = Zq7vB2mK9xLw\n"
    assert scan_text("/etc/silo.conf", data) == []
    extra = operator_patterns([r"launch_?code"])
    found = scan_text("/etc/silo.conf", data, extra)
    assert [(f["rule"], f["key"]) for f in found] == [("secret_assignment", "launchcode")]
    assert is_secret_key("LaunchCode", extra) and not is_secret_key("launch_pad", extra)
    # Only the operator's patterns: the built-in vocabulary of discovery does not bypass the scan's exceptions.
    assert operator_patterns([]) == [] and not is_secret_key("WWW-Authenticate", operator_patterns(["launch_?code"]))
