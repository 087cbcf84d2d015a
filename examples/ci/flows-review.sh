#!/usr/bin/env bash
# CI step for a pull request that changes a kubectl-flows project:
#   1. `kubectl flows render --check` fails the job when the committed
#      render (deploy/) does not match flows.yaml;
#   2. `kubectl flows review -o markdown` says what the change does, and the
#      script posts it as a comment on the pull request.
# Without GITHUB_TOKEN (a local run, another CI) the comment body goes to
# COMMENT_FILE, or to stdout.
#
# Settings (environment):
#   KUBECTL_FLOWS  the plugin binary (default: kubectl-flows on PATH)
#   FLOWS_FILE     the project file (default: flows.yaml)
#   FLOWS_DIR      the committed render (default: render's own, deploy, or
#                  clusters/<env> for a project with environments)
#   RENDER_ARGS    more flags for render, e.g. --flux-source URL when the
#                  render holds the Flux objects
#   BASE_REF       git ref to review against (default: origin/$GITHUB_BASE_REF
#                  on GitHub, else the merge base with the default branch)
#   REVIEW_ARGS    more flags for review, e.g. --env production or
#                  --overlay overlays/staging-extras
#   COMMENT_FILE   where to write the comment body when not posting
#   GITHUB_TOKEN, GITHUB_REPOSITORY, PR_NUMBER   post the comment with
#                  GitHub's REST API (GITHUB_API_URL, default api.github.com)
#
# Exit status: 0 when the render is current and review ran (with or without
# changes), 1 when the render is stale, 2 when review found an error.
set -euo pipefail

kf=${KUBECTL_FLOWS:-kubectl-flows}
file=${FLOWS_FILE:-flows.yaml}
dir=${FLOWS_DIR:-}
base=${BASE_REF:-}
if [ -z "$base" ] && [ -n "${GITHUB_BASE_REF:-}" ]; then
	base=origin/$GITHUB_BASE_REF
fi

status=0
stale=""
render_flags=(-f "$file")
[ -n "$dir" ] && render_flags+=(-o "$dir")
# RENDER_ARGS is split on spaces, as flags are.
# shellcheck disable=SC2206
[ -n "${RENDER_ARGS:-}" ] && render_flags+=(${RENDER_ARGS})
if ! drift=$("$kf" render --check "${render_flags[@]}" 2>&1); then
	stale=$drift
	status=1
fi

review_flags=(-o markdown)
[ -n "$base" ] && review_flags+=(--base "$base")
# REVIEW_ARGS is split on spaces, as flags are.
# shellcheck disable=SC2206
[ -n "${REVIEW_ARGS:-}" ] && review_flags+=(${REVIEW_ARGS})
# A project file is only passed when review renders the project.
case " ${REVIEW_ARGS:-} " in
*" --overlay "*) ;;
*) review_flags+=(-f "$file") ;;
esac
review_status=0
errors=$(mktemp)
trap 'rm -f "$errors"' EXIT
body=$("$kf" review "${review_flags[@]}" 2>"$errors") || review_status=$?
case $review_status in
0 | 1) ;;
*)
	status=2
	body+=$'\n\n'"**kubectl flows review failed** (exit $review_status): $(tail -n 5 "$errors")"
	;;
esac
if [ -n "$stale" ]; then
	# render's last line names the stale directories: "error: DIR is stale: ..."
	what=$(printf '%s\n' "$stale" | sed -n 's/^error: \(.*\) \(is\|are\) stale: .*/\1/p' | tail -n 1)
	body+=$'\n\n'"**The committed render is stale** (\`${what:-${dir:-deploy}}\`): run \`kubectl flows render ${render_flags[*]}\` and commit the result."
	body+=$'\n\n<details><summary>render --check</summary>\n\n```diff\n'"$stale"$'\n```\n</details>'
fi
body="<!-- kubectl-flows review -->"$'\n'"$body"$'\n'

if [ -n "${GITHUB_TOKEN:-}" ] && [ -n "${GITHUB_REPOSITORY:-}" ] && [ -n "${PR_NUMBER:-}" ]; then
	payload=$(printf '%s' "$body" | python3 -c 'import json,sys; print(json.dumps({"body": sys.stdin.read()}))')
	curl -fsS -X POST \
		-H "Authorization: Bearer $GITHUB_TOKEN" \
		-H "Accept: application/vnd.github+json" \
		"${GITHUB_API_URL:-https://api.github.com}/repos/$GITHUB_REPOSITORY/issues/$PR_NUMBER/comments" \
		--data "$payload" >/dev/null
	echo "posted the review on pull request #$PR_NUMBER" >&2
elif [ -n "${COMMENT_FILE:-}" ]; then
	printf '%s' "$body" >"$COMMENT_FILE"
	echo "wrote the review comment to $COMMENT_FILE" >&2
else
	printf '%s' "$body"
fi
exit $status
