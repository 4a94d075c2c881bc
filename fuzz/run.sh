#!/usr/bin/env bash
# Runs one fuzz target for a while, on one core, its corpus seeded from fixtures/.
#
#   fuzz/run.sh TARGET [SECONDS]      (default 600; needs nightly and cargo-fuzz)
#
# Targets: extract, extract_differential, input_line, robots, sitemap, decode.
# New inputs go to fuzz/corpus/TARGET; a crash is saved under fuzz/artifacts/TARGET and stops
# the run. A single input taking over a second counts as a hang, as does RSS over 2 GiB.
set -euo pipefail
cd "$(dirname "$0")"
target=${1:?usage: fuzz/run.sh TARGET [SECONDS]}
seconds=${2:-600}
seeds=seeds/$target
mkdir -p "corpus/$target" "$seeds"
fixtures=../fixtures
case $target in
  extract|extract_differential)
    for f in "$fixtures"/site/*.html "$fixtures"/site/*/*.html; do
      { printf '\003'; cat "$f"; } > "$seeds/$(basename "$f")"
    done ;;
  decode)
    for f in "$fixtures"/site/*.html "$fixtures"/site/*/*.html; do
      { printf 'text/html; charset=windows-1252\n'; cat "$f"; } > "$seeds/$(basename "$f")"
    done ;;
  input_line)
    printf '# urls\n\xef\xbb\xbfhttps://example.com/a\r\n\n  http://[::1]:8080/x \n/relative\nftp://h/\nmailto:a@b\nhttp://exa mple.com/\n' > "$seeds/list.txt"
    cp ../urls.txt "$seeds/urls.txt" ;;
  robots)
    printf 'areq/0.1 (+https://example.org/bot)\n/private/x\n/public\n\nUser-agent: *\nDisallow: /\n\nUser-agent: areq\nAllow: /public\nDisallow: /private\nCrawl-delay: 0.5\nSitemap: https://example.com/sitemap.xml\n' > "$seeds/groups.txt"
    printf 'User-agent: *\nDisallow: /*.php$\nAllow: /a*b\nSitemap: /s.xml\n' > "$seeds/wildcards.txt" ;;
  sitemap)
    printf '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://example.com/?a=1&amp;b=&#x32;</loc><lastmod>2024-01-01</lastmod></url><url><loc><![CDATA[https://example.com/c]]></loc></url></urlset>\n' > "$seeds/urlset.xml"
    printf '<sm:sitemapindex xmlns:sm="http://www.sitemaps.org/schemas/sitemap/0.9"><sm:sitemap><sm:loc>https://example.com/1.xml.gz</sm:loc></sm:sitemap></sm:sitemapindex>' > "$seeds/index.xml"
    gzip -c "$seeds/urlset.xml" > "$seeds/urlset.xml.gz" ;;
  *) echo "unknown target $target" >&2; exit 2 ;;
esac
exec cargo +nightly fuzz run -O "$target" "corpus/$target" "$seeds" -- \
  -jobs=1 -workers=1 -max_total_time="$seconds" -timeout=1 -rss_limit_mb=2048 -print_final_stats=1
