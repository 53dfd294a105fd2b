# Every relative link in the README and doc/ resolves: to a file of the
# tree, and to a heading of it when it names one (GitHub's anchors: lower
# case, punctuation dropped, spaces as hyphens).  And the README stays a
# front door: at most 200 lines.  And every alerting rule's runbook_url
# names a heading of doc/monitoring.md.
use strict;
use warnings;
use Test::More;
use FindBin;
use File::Basename qw(dirname);

my $top = "$FindBin::RealBin/../..";
my @files = ("$top/README.md", glob("$top/doc/*.md"), "$top/CHANGELOG.md");

sub anchors
{
	my ($file) = @_;
	open(my $fh, '<', $file) or return {};
	my %anchors;
	my $in_code = 0;
	while (my $line = <$fh>)
	{
		$in_code = !$in_code if $line =~ /^```/;
		next if $in_code || $line !~ /^#+\s+(.*?)\s*$/;
		my $slug = lc $1;
		$slug =~ s/[^\w\- ]//g;
		$slug =~ s/ /-/g;
		$anchors{$slug} = 1;
	}
	return \%anchors;
}

for my $file (@files)
{
	open(my $fh, '<', $file) or die "$file: $!";
	my $text = do { local $/; <$fh> };
	$text =~ s/```.*?```//gs;
	my $name = $file =~ s{^\Q$top\E/}{}r;
	my @links = $text =~ /\]\(([^)\s]+)\)/g;
	for my $link (@links)
	{
		next if $link =~ m{^[a-z]+://};
		my ($path, $anchor) = split /#/, $link, 2;
		my $target = $path eq '' ? $file : dirname($file) . "/$path";
		ok(-e $target, "$name: $link names a file of the tree");
		ok(anchors($target)->{$anchor}, "$name: $link names a heading of it")
		  if defined $anchor && -f $target;
	}
}

# each alerting rule's runbook is a heading of doc/monitoring.md
open(my $rules, '<', "$top/monitoring/alerts.yml") or die $!;
my @runbooks = map { /runbook_url: "([^"]+)"/ ? $1 : () } <$rules>;
cmp_ok(scalar @runbooks, '>=', 12, 'monitoring/alerts.yml: every rule has a runbook');
for my $runbook (@runbooks)
{
	my ($path, $anchor) = split /#/, $runbook, 2;
	ok(anchors("$top/$path")->{$anchor}, "monitoring/alerts.yml: $runbook names a heading");
}

open(my $readme, '<', "$top/README.md") or die $!;
my $lines = () = <$readme>;
cmp_ok($lines, '<=', 200, 'the README is at most 200 lines');
done_testing();
