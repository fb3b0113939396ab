#!/bin/sh
# SPDX-License-Identifier: MIT
# Demo helper: a scratch repository with a bare "origin", under the folder given (the demo plan
# passes .relhost/demo), so the git steps can branch, tag and push with no account and no
# network. Idempotent: an existing scratch repository is kept as it is.
set -eu
mkdir -p "$1/dist"   # where the demo's build step writes the candidate's artifact
dir=$(cd "$1" && pwd)
if [ -d "$dir/work/.git" ]; then
    echo "scratch repository $dir/work exists (origin: $dir/origin.git)"
    exit 0
fi

git init -q --bare "$dir/origin.git"
git init -q "$dir/work"
cd "$dir/work"
git config user.email demo@relhost.invalid
git config user.name "relhost demo"
echo "a project qualified by relhost's demo" > README
git add README
git commit -q -m "initial commit"
git remote add origin "$dir/origin.git"
git push -q origin HEAD:refs/heads/main
echo "created scratch repository $dir/work with origin $dir/origin.git"
