#!/usr/bin/perl
# List-Unsubscribe endpoint: GET /u/<address>/<sig> adds the address to the suppression file when
# <sig> is the HMAC (UNSUB_HMAC) of the address; GET /healthz -> ok; GET / -> a short page.
# Core Perl only: one request at a time, logs to stdout (journald).
use strict;
use warnings;
use IO::Socket::INET;
use Getopt::Long;
use Digest::SHA qw(hmac_sha256_hex);

my ($config_file, $api_key) = ('/etc/unsubscribe/unsubscribe.yml', '');
GetOptions('config=s' => \$config_file, 'api-key=s' => \$api_key) or die "usage: $0 --config FILE --api-key KEY\n";

# Flat YAML: "key: value" lines, # comments, optional quotes.
my %cfg;
open(my $fh, '<', $config_file) or die "cannot read $config_file: $!\n";
while (my $line = <$fh>) {
    next if $line =~ /^\s*(#|$)/;
    if ($line =~ /^\s*([A-Za-z0-9_]+)\s*:\s*(.*?)\s*$/) {
        my ($k, $v) = ($1, $2);
        $v =~ s/^"(.*)"$/$1/ or $v =~ s/^'(.*)'$/$1/;
        $cfg{$k} = $v;
    }
}
close $fh;
my $listen = $cfg{listen} || '0.0.0.0:8091';
my $hmac_key = $ENV{UNSUB_HMAC} or die "UNSUB_HMAC not set\n";
die "api_token missing in $config_file\n" unless $cfg{api_token};
my $title = $cfg{confirm_page_title} || 'Unsubscribed';

$| = 1;
my $server = IO::Socket::INET->new(LocalAddr => $listen, Listen => 16, ReuseAddr => 1, Proto => 'tcp')
    or die "cannot listen on $listen: $!\n";
print "unsubscribe listening on $listen\n";
$SIG{PIPE} = 'IGNORE';

sub respond {
    my ($c, $status, $body, $type) = @_;
    $type ||= 'text/plain; charset=utf-8';
    printf $c "HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
        $status, $type, length($body), $body;
}

while (my $c = $server->accept) {
    $c->autoflush(1);
    my $req = <$c>;
    unless (defined $req) { close $c; next; }
    my %hdr;
    while (my $h = <$c>) { last if $h =~ /^\r?\n$/; $hdr{lc $1} = $2 if $h =~ /^([^:]+):\s*(.*?)\r?$/; }
    my ($method, $path) = $req =~ m{^(\S+)\s+(\S+)};
    $method ||= ''; $path ||= '';
    my $status;
    if ($method ne 'GET') {
        respond($c, $status = '405 Method Not Allowed', "method not allowed\n");
    } elsif ($path eq '/healthz') {
        respond($c, $status = '200 OK', "ok\n");
    } elsif ($path eq '/') {
        respond($c, $status = '200 OK', "<!DOCTYPE html><html><head><title>unsubscribe</title></head>"
            . "<body><h1>Mailing list unsubscribe</h1><p>Use the link in your e-mail.</p></body></html>\n",
            'text/html; charset=utf-8');
    } elsif ($path =~ m{^/u/([^/]+)/([0-9a-f]{64})$}) {
        my ($addr, $sig) = ($1, $2);
        if (hmac_sha256_hex($addr, $hmac_key) eq $sig) {
            if (open(my $out, '>>', $cfg{suppression_file} || '/var/lib/unsubscribe/suppressed.txt')) {
                print $out "$addr\n"; close $out;
            }
            respond($c, $status = '200 OK', "<html><body><h1>$title</h1></body></html>\n", 'text/html; charset=utf-8');
        } else {
            respond($c, $status = '403 Forbidden', "bad signature\n");
        }
    } elsif ($path eq '/api/suppressed') {
        my $auth = $hdr{authorization} || '';
        if ($auth eq "Bearer $cfg{api_token}" || $auth eq "Bearer $api_key") {
            my $list = '';
            if (open(my $in, '<', $cfg{suppression_file} || '/var/lib/unsubscribe/suppressed.txt')) { local $/; $list = <$in>; close $in; }
            respond($c, $status = '200 OK', $list // '');
        } else {
            respond($c, $status = '401 Unauthorized', "unauthorized\n");
        }
    } else {
        respond($c, $status = '404 Not Found', "not found\n");
    }
    printf "%s %s %s %s\n", $c->peerhost // '-', $method, $path, $status;
    close $c;
}
