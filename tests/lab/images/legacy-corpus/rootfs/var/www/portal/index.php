<?php
// Customer portal front page. The database settings come from the vhost (SetEnv).
$db_host = $_SERVER['PORTAL_DB_HOST'] ?? getenv('PORTAL_DB_HOST');
$db_pass = $_SERVER['PORTAL_DB_PASSWORD'] ?? getenv('PORTAL_DB_PASSWORD');
$configured = ($db_pass !== false && $db_pass !== null && $db_pass !== '') ? 'yes' : 'no';
header('Content-Type: text/html; charset=utf-8');
?>
<!DOCTYPE html>
<html>
<head><title>Corpus customer portal</title></head>
<body>
<h1>Customer portal</h1>
<p>db host: <?= htmlspecialchars((string)$db_host) ?></p>
<p>db configured: <?= $configured ?></p>
<p>php <?= PHP_MAJOR_VERSION . '.' . PHP_MINOR_VERSION ?> on <?= htmlspecialchars(gethostname()) ?></p>
</body>
</html>
