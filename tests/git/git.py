#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""End-to-end tests of the git gate (release branch and tag) with real git and no network: a
scratch repository with commits, a bare repository as its "origin" (a file path remote), and the
real relhost binary. One case per process: git.py CASE."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

BIN = os.environ["RELHOST_BIN"]
PY = os.environ.get("PYTHON3", sys.executable)
TMP = os.environ.get("RELHOST_TEST_TMP", tempfile.gettempdir())

# Neither the machine's nor the user's git configuration may change what git does here (a
# global push.followTags, another default branch); identities are fixed for the same reason.
# The test folder may sit inside relhost's own checkout: git must not find that repository
# above a scene's folders.
_GLOBAL = os.path.join(TMP, "git-test-empty-gitconfig")
open(_GLOBAL, "a").close()
ENV = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=_GLOBAL,
           GIT_CEILING_DIRECTORIES=os.path.realpath(TMP),
           GIT_AUTHOR_NAME="Tess Ter", GIT_AUTHOR_EMAIL="tess@example.com",
           GIT_COMMITTER_NAME="Tess Ter", GIT_COMMITTER_EMAIL="tess@example.com")

# The subcommands --check may run: they read, never write (plugins/git/git_cmd.c reads_only).
READ_ONLY = {"rev-parse", "status", "symbolic-ref", "cat-file", "remote"}


def fail(msg, out=None):
    print("FAIL:", msg)
    if out is not None:
        print("----- output -----")
        print(out)
    sys.exit(1)


def check(cond, msg, out=None):
    if not cond:
        fail(msg, out)


def git(repo, *args, env=None, input=None):
    p = subprocess.run(["git", "-C", repo, *args], capture_output=True, text=True,
                       env=env or ENV, input=input)
    if p.returncode != 0:
        fail(f"git {' '.join(args)} in {repo}: exit {p.returncode}: {p.stderr}")
    return p.stdout.strip()


def bare(gitdir, *args):
    """A command on the bare origin; "" when it fails (e.g. a ref that is not there)."""
    p = subprocess.run(["git", "--git-dir", gitdir, *args], capture_output=True, text=True,
                       env=ENV)
    return p.stdout.strip() if p.returncode == 0 else ""


def prep_step(extra=""):
    return ('{ name = "prepare"; plugin = "git"; action = "prepare_branch"; repo = "work"; '
            'branch = "release/{version}"; ' + extra + ' }')


def tag_step(extra=""):
    return ('{ name = "tag"; plugin = "git"; action = "tag"; repo = "work"; '
            'branch = "release/{version}"; tag = "v{version}"; ' + extra + ' }')


class Scene:
    """plan.cfg, work/ (two commits on main, origin = ../origin.git) and origin.git/ (bare)."""

    def __init__(self, name):
        self.dir = tempfile.mkdtemp(prefix="git-" + name + "-", dir=TMP)
        self.work = self.p("work")
        self.origin = self.p("origin.git")
        self.plan = self.p("plan.cfg")
        subprocess.run(["git", "init", "-q", "--bare", self.origin], check=True, env=ENV)
        os.mkdir(self.work)
        git(self.work, "init", "-q", "-b", "main")
        self.write("a.txt", "one\n")
        git(self.work, "add", "a.txt")
        git(self.work, "commit", "-q", "-m", "one")
        self.first = git(self.work, "rev-parse", "HEAD")
        self.write("a.txt", "two\n")
        git(self.work, "commit", "-q", "-am", "two")
        self.head = git(self.work, "rev-parse", "HEAD")
        git(self.work, "remote", "add", "origin", self.origin)

    def p(self, *parts):
        return os.path.join(self.dir, *parts)

    def write(self, rel, text):
        with open(os.path.join(self.work, rel), "w") as f:
            f.write(text)

    def write_plan(self, *steps, plan_repo=True):
        keys = 'repo = "work"; checkout = "head";' if plan_repo else ""
        with open(self.plan, "w") as f:
            f.write(f'state_dir = "state"; log_dir = "logs"; {keys}\n'
                    f'steps = (\n  ' + ",\n  ".join(steps) + "\n);\n")

    def run(self, *args, env=None, cmd="run"):
        p = subprocess.run([BIN, cmd, "-c", self.plan, "--no-color", "--no-interactive",
                            "--release", "1", "--rerun", "*", *args], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=120, env=env or ENV)
        return p.returncode, p.stdout

    def step(self, name):
        with open(self.p("state", "release_1.json")) as f:
            return json.load(f)["steps"][name]

    def refs(self, where):
        """Every ref with its object, plus HEAD: what "nothing changed" compares."""
        if where == "origin":
            return bare(self.origin, "for-each-ref", "--format=%(refname) %(objectname)")
        return (git(self.work, "for-each-ref", "--format=%(refname) %(objectname)") + "\n" +
                git(self.work, "symbolic-ref", "HEAD") + " " + git(self.work, "rev-parse", "HEAD"))

    def remote_ref(self, ref):
        return bare(self.origin, "rev-parse", "--verify", "--quiet", ref)

    def remote_has_no_release_refs(self):
        return self.refs("origin") == ""


def case_branch_and_tag_are_created_and_pushed():
    sc = Scene("pushed")
    sc.write_plan(prep_step(), tag_step())
    rc, out = sc.run()
    check(rc == 0, f"exit {rc}, want 0", out)
    # The branch, here and on the remote, is at the candidate; the work tree was left alone.
    check(git(sc.work, "rev-parse", "refs/heads/release/1") == sc.head, "local branch", out)
    check(sc.remote_ref("refs/heads/release/1") == sc.head, "remote branch not at HEAD", out)
    check(git(sc.work, "symbolic-ref", "HEAD") == "refs/heads/main", "HEAD was switched", out)
    check(git(sc.work, "status", "--porcelain") == "", "the work tree changed", out)
    # An annotated tag object reached the remote and peels to the candidate.
    obj = sc.remote_ref("refs/tags/v1")
    check(obj != "" and bare(sc.origin, "cat-file", "-t", obj) == "tag",
          f"remote tag v1 is not an annotated tag ({obj!r})", out)
    check(sc.remote_ref("refs/tags/v1^{commit}") == sc.head, "remote tag not on HEAD", out)
    check(obj == git(sc.work, "rev-parse", "refs/tags/v1"), "remote tag is another object", out)
    # Its message: the first lines of the release notes the host wrote before the tag step,
    # the Markdown heading kept (not stripped as a "comment").
    msg = bare(sc.origin, "cat-file", "tag", obj).split("\n\n", 1)[1].strip()
    check(msg.startswith("# Release 1") and 3 <= len(msg.splitlines()) <= 20,
          f"tag message:\n{msg}", out)
    # ...as of the decision to publish, not "no decision recorded yet"
    check("every required step recorded so far passed" in msg and "no decision" not in msg,
          f"tag message:\n{msg}", out)
    # Evidence: labels and notes naming branch, tag and SHA.
    prep, tag = sc.step("prepare"), sc.step("tag")
    check(prep["evidence"]["labels"] == {"branch": "release/1", "commit": sc.head},
          f"prepare labels {prep['evidence']['labels']}", out)
    check(tag["evidence"]["labels"] == {"branch": "release/1", "tag": "v1", "commit": sc.head},
          f"tag labels {tag['evidence']['labels']}", out)
    check(f"created branch release/1 at {sc.head}" in out, "no note of the new branch", out)
    check(f"created annotated tag v1 (tag object {obj}) on {sc.head}" in out,
          "no note of the new tag", out)
    check('message "# Release 1' in out, "the note does not quote the message head", out)
    check("pushed refs/tags/v1 to origin: created [new tag]" in out, "no push note", out)


def case_rerun_passes_and_changes_nothing():
    sc = Scene("rerun")
    sc.write_plan(prep_step(), tag_step())
    rc, out = sc.run()
    check(rc == 0, f"first run exit {rc}", out)
    check("release_1.md" in out, "the tag message does not name the notes it came from", out)
    before = (sc.refs("work"), sc.refs("origin"))
    reflog = git(sc.work, "reflog", "show", "--format=%H", "refs/heads/release/1")
    rc, out = sc.run()
    check(rc == 0, f"re-run exit {rc}, want 0", out)
    check((sc.refs("work"), sc.refs("origin")) == before, "the re-run changed refs", out)
    check(git(sc.work, "reflog", "show", "--format=%H", "refs/heads/release/1") == reflog,
          "the re-run wrote the branch again", out)
    check(f"branch release/1 already at {sc.head}" in out, "no 'already' note", out)
    check(f"tag v1 already on {sc.head}" in out and "(annotated)" in out, "tag note", out)
    check("already there [up to date]" in out, "the remote state is not reported", out)


def relhost_notes_commit(sc, parent, author="relhost"):
    """A commit on top of parent, as relhost's release-notes step makes it (author relhost)."""
    env = dict(ENV, GIT_AUTHOR_NAME=author, GIT_AUTHOR_EMAIL=f"{author}@example.com",
               GIT_COMMITTER_NAME=author, GIT_COMMITTER_EMAIL=f"{author}@example.com")
    tree = git(sc.work, "rev-parse", parent + "^{tree}")
    return git(sc.work, "commit-tree", tree, "-p", parent, "-m", "Release notes", env=env)


def case_release_notes_commit_on_top_passes():
    sc = Scene("notes")
    sc.write_plan(prep_step(), tag_step())
    rc, out = sc.run()
    check(rc == 0, f"first run exit {rc}", out)
    notes = relhost_notes_commit(sc, sc.head)
    git(sc.work, "update-ref", "refs/heads/release/1", notes, sc.head)
    rc, out = sc.run()
    check(rc == 0, f"re-run with relhost's notes commit on the branch: exit {rc}, want 0", out)
    check("relhost's release-notes commit" in out, "the notes commit is not named", out)
    check(git(sc.work, "rev-parse", "refs/heads/release/1") == notes, "branch moved back", out)
    check(sc.remote_ref("refs/heads/release/1") == notes, "remote not fast-forwarded", out)
    check(sc.remote_ref("refs/tags/v1^{commit}") == sc.head, "tag moved off the candidate", out)
    # Somebody else's commit on the candidate is not relhost's: FAILED, and nothing moves.
    other = relhost_notes_commit(sc, sc.head, author="someone")
    git(sc.work, "update-ref", "refs/heads/release/1", other, notes)
    rc, out = sc.run("--step", "prepare")
    check(rc == 1, f"branch at a stranger's commit: exit {rc}, want 1", out)
    check(f"branch release/1 exists at {other}, expected {sc.head}" in out, "message", out)
    check(sc.remote_ref("refs/heads/release/1") == notes, "remote changed on FAILED", out)


def case_branch_at_another_commit_fails():
    sc = Scene("elsewhere")
    git(sc.work, "branch", "release/1", sc.first)
    sc.write_plan(prep_step(), tag_step())
    before = sc.refs("work")
    rc, out = sc.run()
    check(rc == 1, f"exit {rc}, want 1 (FAILED)", out)
    st = sc.step("prepare")
    check(st["outcome"] == "FAILED" and st["reason"] == "branch_exists", f"step {st}", out)
    check(f"branch release/1 exists at {sc.first}, expected {sc.head}" in out,
          "the message does not say where the branch is and where it should be", out)
    check(sc.refs("work") == before, "a ref changed", out)
    check(sc.remote_has_no_release_refs(), "something was pushed", out)


def case_remote_branch_at_another_commit_fails():
    sc = Scene("remote-elsewhere")
    git(sc.work, "push", "-q", "origin", f"{sc.first}:refs/heads/release/1")
    sc.write_plan(prep_step())
    rc, out = sc.run()
    check(rc == 1, f"exit {rc}, want 1 (FAILED)", out)
    check(f"branch release/1 on origin exists at {sc.first}, expected {sc.head}" in out,
          "message", out)
    # An ancestor would fast-forward: relhost must not move a branch it did not make.
    check(sc.remote_ref("refs/heads/release/1") == sc.first, "the remote branch moved", out)


def case_tag_at_another_commit_fails():
    sc = Scene("tag-elsewhere")
    git(sc.work, "tag", "-a", "-m", "old", "v1", sc.first)
    sc.write_plan(prep_step(), tag_step())
    rc, out = sc.run()
    check(rc == 1, f"exit {rc}, want 1 (FAILED)", out)
    st = sc.step("tag")
    check(st["outcome"] == "FAILED" and st["reason"] == "tag_exists", f"step {st}", out)
    check(f"tag v1 exists at {sc.first}, expected {sc.head}" in out, "message", out)
    check(sc.remote_ref("refs/tags/v1") == "", "the tag was pushed", out)
    # prepare ran before and pushed its branch; the tag step pushed nothing.
    check(sc.remote_ref("refs/heads/release/1") == sc.head, "prepare's push missing", out)


def case_rejected_push_is_an_error_with_the_hooks_message():
    sc = Scene("rejected")
    hook = os.path.join(sc.origin, "hooks", "pre-receive")
    with open(hook, "w") as f:
        f.write("#!/bin/sh\necho 'release pushes are frozen until Monday' >&2\n"
                "echo 'ask at https://bot:hunter2-token@chat.example.invalid/x' >&2\nexit 1\n")
    os.chmod(hook, 0o755)
    sc.write_plan(prep_step())
    rc, out = sc.run()
    check(rc == 3, f"exit {rc}, want 3 (ERROR)", out)
    st = sc.step("prepare")
    check(st["outcome"] == "ERROR" and st["reason"] == "push_rejected" and not st["retryable"],
          f"step {st}", out)
    check("release pushes are frozen until Monday" in st["message"],
          "the hook's own message is not in the step's message", out)
    check("pre-receive hook declined" in st["message"], "git's summary is missing", out)
    check("hunter2" not in out and "https://***@chat.example.invalid" in st["message"],
          "a credential in git's message was not blanked out", out)
    check(sc.remote_has_no_release_refs(), "something reached the remote", out)


def case_atomic_push_pushes_neither_ref():
    sc = Scene("atomic")
    # An update hook judges each ref alone: it accepts the branch and refuses the tag, so only
    # an atomic push keeps the branch off the remote too.
    hook = os.path.join(sc.origin, "hooks", "update")
    with open(hook, "w") as f:
        f.write('#!/bin/sh\ncase "$1" in refs/tags/*) echo "no tags today: $1" >&2; exit 1;; '
                'esac\nexit 0\n')
    os.chmod(hook, 0o755)
    sc.write_plan(prep_step("push = false;"), tag_step())
    rc, out = sc.run()
    check(rc == 3, f"exit {rc}, want 3 (ERROR)", out)
    st = sc.step("tag")
    check(st["outcome"] == "ERROR" and st["reason"] == "push_rejected", f"step {st}", out)
    check("no tags today: refs/tags/v1" in st["message"], "the hook's message is missing", out)
    check("neither ref changed" in st["message"], "the message does not say what happened", out)
    check(sc.remote_has_no_release_refs(),
          f"the remote got refs: {sc.refs('origin')!r} (the push was not atomic)", out)
    # The local tag stays: the next run pushes it once the remote agrees.
    os.remove(hook)
    rc, out = sc.run()
    check(rc == 0, f"run after the hook is gone: exit {rc}", out)
    check(sc.remote_ref("refs/tags/v1^{commit}") == sc.head, "tag not pushed on re-run", out)
    check(sc.remote_ref("refs/heads/release/1") == sc.head, "branch not pushed on re-run", out)


def case_dirty_tree_is_refused():
    sc = Scene("dirty")
    sc.write("a.txt", "uncommitted\n")
    # With the plan's repo and checkout = "head", core refuses before any step (exit 2).
    sc.write_plan(prep_step(), plan_repo=True)
    rc, out = sc.run()
    check(rc == 2, f"core's checkout check: exit {rc}, want 2", out)
    check("uncommitted changes" in out, "core does not name the dirty tree", out)
    # Without repo/checkout keys the step's own require_clean refuses (ERROR, exit 3).
    sc.write_plan(prep_step(), plan_repo=False)
    rc, out = sc.run()
    check(rc == 3, f"require_clean: exit {rc}, want 3", out)
    st = sc.step("prepare")
    check(st["outcome"] == "ERROR" and st["reason"] == "dirty_tree", f"step {st}", out)
    check("uncommitted changes (a.txt)" in st["message"] and "require_clean = false" in
          st["message"], "the refusal does not name the file and the way out", out)
    check(bare(sc.work + "/.git", "rev-parse", "--verify", "--quiet", "refs/heads/release/1")
          == "", "a branch was created from a dirty tree", out)
    # Untracked files are in no commit either way: they do not make the tree dirty.
    git(sc.work, "checkout", "-q", "--", "a.txt")
    sc.write("untracked.txt", "x\n")
    rc, out = sc.run()
    check(rc == 0, f"untracked file only: exit {rc}, want 0", out)


def case_require_clean_false_and_no_plan_repo_uses_head():
    sc = Scene("head")
    sc.write("a.txt", "uncommitted\n")
    sc.write_plan(prep_step("require_clean = false;"), tag_step("require_clean = false;"),
                  plan_repo=False)
    rc, out = sc.run()
    check(rc == 0, f"exit {rc}, want 0", out)
    check("HEAD (refs/heads/main)" in out and "the plan names no repo" in out,
          "the note does not say the commit came from HEAD", out)
    check(sc.remote_ref("refs/heads/release/1") == sc.head, "branch not at HEAD", out)
    check(sc.remote_ref("refs/tags/v1^{commit}") == sc.head, "tag not at HEAD", out)
    check(open(os.path.join(sc.work, "a.txt")).read() == "uncommitted\n",
          "the uncommitted change was touched", out)


def case_check_says_what_it_would_do_and_changes_nothing():
    sc = Scene("check")
    sc.write_plan(prep_step(), tag_step())
    before = (sc.refs("work"), sc.refs("origin"))
    # A file touched since the index was written: a plain `git status` would rewrite the index.
    index = os.path.join(sc.work, ".git", "index")
    os.utime(os.path.join(sc.work, "a.txt"), (1, 1))
    os.utime(index, (2, 2))
    with open(index, "rb") as f:
        index_bytes = f.read()
    rc, out = sc.run("--check", "-v")
    check(rc == 0, f"exit {rc}, want 0", out)
    check(f"would create branch release/1 at {sc.head}" in out, "branch not described", out)
    check(f"would push refs/heads/release/1, and nothing else, to origin ({sc.origin})" in out,
          "push not described", out)
    check(f'would create annotated tag v1 on {sc.head}, message "Release 1"' in out,
          "tag not described", out)
    check("would push refs/heads/release/1 and refs/tags/v1 to origin" in out and
          "one atomic push" in out, "atomic push not described", out)
    check((sc.refs("work"), sc.refs("origin")) == before, "--check changed refs", out)
    with open(index, "rb") as f:
        check(f.read() == index_bytes and os.stat(index).st_mtime == 2,
              "--check rewrote the index", out)
    ran = re.findall(r"run: \S*git -C \S+ (\S+)", out)
    check(ran, "-v shows no git command (cannot tell what --check ran)", out)
    check(set(ran) <= READ_ONLY, f"--check ran {sorted(set(ran) - READ_ONLY)}", out)
    check("ls-remote" not in out and "push --" not in out, "--check contacted the remote", out)
    # A remote URL's credentials never reach the report.
    git(sc.work, "remote", "add", "tokened",
        "https://x-access-token:ghp_SECRET12345@git.example.invalid/o/r.git")
    sc.write_plan(prep_step('remote = "tokened";'))
    rc, out = sc.run("--check")
    check(rc == 0, f"tokened remote: exit {rc}", out)
    check("ghp_SECRET12345" not in out, "the token of the remote's URL was printed", out)
    check("to tokened (https://***@git.example.invalid/o/r.git)" in out, "URL not shown", out)
    sc.write_plan(prep_step(), tag_step())
    # A branch already elsewhere is reported as the FAILED it would be.
    git(sc.work, "branch", "release/1", sc.first)
    rc, out = sc.run("--check")
    check(f"branch release/1 exists at {sc.first}, expected {sc.head}: the step would FAIL"
          in out, "--check does not predict the failure", out)


def case_check_runs_each_git_command_once():
    """--check of two steps on one repository: each git command runs once (the second step
    reuses the top folder, commit, status, remote URL and branch the first one read), and the
    top folder, the commit and the branch HEAD is on come from one rev-parse."""
    sc = Scene("check-once")
    sc.write_plan(prep_step(), tag_step(), plan_repo=False)
    rc, out = sc.run("--check", "-v")
    check(rc == 0, f"exit {rc}, want 0", out)
    check(f"commit {sc.head}: HEAD (refs/heads/main) of {sc.work}; the plan names no repo" in out,
          "commit and where it came from not described", out)
    check(f"would create branch release/1 at {sc.head} in {sc.work}" in out,
          "branch not described", out)
    ran = re.findall(r"run: (\S*git -C .*)", out)
    dup = sorted({r for r in ran if ran.count(r) > 1})
    check(not dup, f"--check ran the same git command twice: {dup}", out)
    # rev-parse (top, commit, HEAD's branch), status, remote get-url, the branch, the tag.
    check(len(ran) == 5, f"--check ran {len(ran)} git commands, want 5: {ran}", out)
    check(not any(" symbolic-ref " in r for r in ran), "HEAD's branch asked on its own", out)


def case_git_missing_is_an_error():
    sc = Scene("nogit")
    sc.write_plan(prep_step('git = "/nonexistent/bin/git";'))
    rc, out = sc.run()
    check(rc == 3, f"git option: exit {rc}, want 3", out)
    st = sc.step("prepare")
    check(st["outcome"] == "ERROR" and "git not found" in st["message"], f"step {st}", out)
    check("/nonexistent/bin/git" in st["message"], "the program is not named", out)
    # No git on PATH at all (a plan without repo keys: core itself needs no git then).
    empty = sc.p("empty-path")
    os.mkdir(empty)
    sc.write_plan(prep_step(), plan_repo=False)
    rc, out = sc.run(env=dict(ENV, PATH=empty))
    check(rc == 3, f"empty PATH: exit {rc}, want 3", out)
    check("git not found" in sc.step("prepare")["message"], "PATH case message", out)
    check(sc.remote_has_no_release_refs(), "something was pushed without git?", out)


def case_unreachable_remote_is_a_retryable_error():
    sc = Scene("slow")
    # A git whose network commands hang, as with a dead server: the step's timeout stops it,
    # and a timeout is worth trying again later (deferred, exit 75), unlike a refusal.
    slow = sc.p("slow-git")
    with open(slow, "w") as f:
        f.write('#!/bin/sh\nfor a in "$@"; do case "$a" in ls-remote|push) exec sleep 600;; '
                f'esac; done\nexec {shutil.which("git")} "$@"\n')
    os.chmod(slow, 0o755)
    sc.write_plan(prep_step(f'git = "{slow}"; timeout = "1s";'))
    rc, out = sc.run()
    check(rc == 75, f"exit {rc}, want 75 (a retryable ERROR defers the release)", out)
    st = sc.step("prepare")
    check(st["outcome"] == "ERROR" and st["retryable"], f"step {st}", out)
    check("did not finish within the step's timeout of 1 s" in st["message"], "message", out)
    check(sc.remote_has_no_release_refs(), "something was pushed", out)


def case_unborn_head_is_an_error():
    sc = Scene("unborn")
    empty = sc.p("empty")
    os.mkdir(empty)
    git(empty, "init", "-q", "-b", "trunk")
    sc.write_plan(prep_step().replace('repo = "work"', 'repo = "empty"'), plan_repo=False)
    rc, out = sc.run()
    check(rc == 3, f"exit {rc}, want 3", out)
    msg = sc.step("prepare")["message"]
    check("refs/heads/trunk, which has no commit yet (an unborn branch)" in msg, msg, out)


def case_detached_head_is_an_error():
    sc = Scene("detached")
    git(sc.work, "checkout", "-q", "--detach", sc.first)
    sc.write_plan(prep_step(), plan_repo=False)
    rc, out = sc.run()
    check(rc == 3, f"exit {rc}, want 3", out)
    msg = sc.step("prepare")["message"]
    check(f"HEAD of {sc.work} is detached (at {sc.first[:12]})" in msg, msg, out)
    check("set the step's ref" in msg, "the message does not say what to do", out)
    # Naming the commit is the way out.
    sc.write_plan(prep_step('ref = "main";'), plan_repo=False)
    rc, out = sc.run()
    check(rc == 0, f"with ref = main: exit {rc}", out)
    check(sc.remote_ref("refs/heads/release/1") == sc.head, "branch not at main", out)


def case_bad_repo_and_ref_are_errors():
    sc = Scene("bad")
    os.mkdir(sc.p("plain"))
    sc.write_plan(prep_step().replace('repo = "work"', 'repo = "plain"'), plan_repo=False)
    rc, out = sc.run()
    check(rc == 3, f"not a repository: exit {rc}, want 3", out)
    check("is not in a git work tree" in sc.step("prepare")["message"], "message", out)
    sc.write_plan(prep_step('ref = "no-such-branch";'), plan_repo=False)
    rc, out = sc.run()
    check(rc == 3, f"missing ref: exit {rc}, want 3", out)
    check('ref "no-such-branch" does not resolve to a commit' in sc.step("prepare")["message"],
          "message", out)
    # The plan's candidate decides: a step ref beside it is refused at load time.
    sc.write_plan(prep_step('ref = "main";'), plan_repo=True)
    rc, out = sc.run()
    check(rc == 2, f"ref with the plan's repo: exit {rc}, want 2", out)
    check("ref is only for plans that name no repo" in out, "message", out)
    # The step's repo must hold the plan's candidate.
    other = sc.p("other")
    os.mkdir(other)
    git(other, "init", "-q", "-b", "main")
    git(other, "commit", "-q", "--allow-empty", "-m", "x")
    sc.write_plan(prep_step().replace('repo = "work"', 'repo = "other"'), plan_repo=True)
    rc, out = sc.run()
    check(rc == 3, f"candidate not in the step's repo: exit {rc}, want 3", out)
    check(f"the release candidate {sc.head} is not a commit of {other}" in
          sc.step("prepare")["message"], "message", out)


def case_plan_errors_name_the_setting():
    sc = Scene("conf")
    cases = [
        ('{ name = "p"; plugin = "git"; action = "prepare_branch"; }',
         'action = "prepare_branch" needs the branch'),
        ('{ name = "t"; plugin = "git"; action = "tag"; branch = "b"; }',
         'action = "tag" needs the tag'),
        ('{ name = "p"; plugin = "git"; action = "prepare_branch"; branch = "rel..{version}"; }',
         'branch "rel..1" is not a valid git branch name'),
        ('{ name = "t"; plugin = "git"; action = "tag"; tag = "-v{version}"; }',
         "starts with '-'"),
        ('{ name = "p"; plugin = "git"; action = "prepare_branch"; branch = "b"; tag = "t"; }',
         'tag belongs to action = "tag"'),
        ('{ name = "p"; plugin = "git"; action = "push"; }', "prepare_branch"),
        ('{ name = "p"; plugin = "git"; action = "prepare_branch"; branch = "b"; '
         'remote = "https://me:SECRET-pw@git.example.invalid/r.git"; }',
         "remote https://***@git.example.invalid/r.git holds a user name or password"),
    ]
    for step, want in cases:
        sc.write_plan(step, plan_repo=False)
        rc, out = sc.run("--check")
        check(rc == 2, f"{step}: exit {rc}, want 2", out)
        check(want in out, f"{step}: no {want!r}", out)
        check(re.search(r"plan\.cfg:\d+", out) is not None, f"{step}: no file:line", out)
        check("SECRET" not in out, f"{step}: a credential was printed", out)


def case_launch_does_nothing():
    sc = Scene("launch")
    sc.write_plan(prep_step(), tag_step())
    before = (sc.refs("work"), sc.refs("origin"))
    rc, out = sc.run(cmd="launch")
    check(rc == 0, f"exit {rc}, want 0", out)
    check(out.count("SKIPPED") >= 2 and out.count("reason: launch") == 2,
          "the steps are not SKIPPED with reason launch", out)
    check((sc.refs("work"), sc.refs("origin")) == before, "launch changed refs", out)


# ---- commit_notes: the release notes as one commit over the candidate on the release branch ----

def notes_step(extra=""):
    return tag_step("commit_notes = true; " + extra)


def commit_info(repo, rev, fmt):
    return git(repo, "log", "-1", f"--format={fmt}", rev)


def index_bytes(sc):
    with open(os.path.join(sc.work, ".git", "index"), "rb") as f:
        return f.read()


def leftovers(sc):
    """Temporary index folders the notes commit left in the state folder."""
    return [n for n in os.listdir(sc.p("state")) if n.startswith(".git-notes")]


def case_notes_commit_carries_the_notes_and_the_tag_stays_on_the_candidate():
    sc = Scene("notes-commit")
    sc.write_plan(prep_step(), notes_step())
    index = index_bytes(sc)
    rc, out = sc.run()
    check(rc == 0, f"exit {rc}, want 0", out)
    notes = git(sc.work, "rev-parse", "refs/heads/release/1")
    check(notes != sc.head, "the branch is still at the candidate: no notes commit", out)
    # One commit, by relhost, whose one parent is the candidate, adding only the notes file.
    check(commit_info(sc.work, notes, "%P") == sc.head, "the notes commit's parent", out)
    check(commit_info(sc.work, notes, "%an|%cn|%s") == "relhost|relhost|Release notes for 1",
          f"author/committer/subject: {commit_info(sc.work, notes, '%an|%cn|%s')!r}", out)
    check(git(sc.work, "diff-tree", "--no-commit-id", "-r", "--name-status", sc.head, notes)
          == "A\tRELEASE_NOTES.md", "the notes commit changes more than RELEASE_NOTES.md", out)
    # The file holds the notes as the tag step read them: the prepare step's result is in,
    # and the tag's message is their head, so tag and commit tell the same story.
    blob = git(sc.work, "cat-file", "blob", notes + ":RELEASE_NOTES.md")
    check(blob.startswith("# Release 1") and "created branch release/1" in blob,
          f"RELEASE_NOTES.md:\n{blob}", out)
    obj = git(sc.work, "rev-parse", "refs/tags/v1")
    msg = git(sc.work, "cat-file", "tag", obj).split("\n\n", 1)[1].strip()
    check(blob.startswith(msg), f"the tag message is not the head of the committed notes:\n{msg}",
          out)
    # The tag stays on the validated commit; the remote has both.
    check(git(sc.work, "rev-parse", "refs/tags/v1^{commit}") == sc.head, "tag moved", out)
    check(sc.remote_ref("refs/heads/release/1") == notes, "remote branch not at the notes", out)
    check(sc.remote_ref("refs/tags/v1") == obj, "remote tag is not ours", out)
    check(sc.remote_ref("refs/tags/v1^{commit}") == sc.head, "remote tag not on HEAD", out)
    # Nothing of the user's changed: HEAD, index, work tree; no temporary index left behind.
    check(git(sc.work, "symbolic-ref", "HEAD") == "refs/heads/main" and
          git(sc.work, "rev-parse", "HEAD") == sc.head, "HEAD changed", out)
    check(git(sc.work, "status", "--porcelain", "--untracked-files=all") == "",
          "the work tree changed", out)
    check(index_bytes(sc) == index, "the user's index was rewritten", out)
    check(leftovers(sc) == [], f"temporary files left: {leftovers(sc)}", out)
    check(sc.step("tag")["evidence"]["labels"].get("notes_commit") == notes, "label", out)
    check(f"committed the release notes {sc.p('state', 'release_1.md')} as RELEASE_NOTES.md "
          f"onto branch release/1: commit {notes}, parent {sc.head}" in out, "note", out)
    check("pushed refs/heads/release/1 to origin: fast-forwarded" in out, "push note", out)


def case_notes_rerun_with_the_same_notes_changes_nothing():
    sc = Scene("notes-same")
    sc.write_plan(prep_step(), notes_step())
    rc, out = sc.run()
    check(rc == 0, f"first run exit {rc}", out)
    notes = git(sc.work, "rev-parse", "refs/heads/release/1")
    # The host rewrites the notes after every step; put back what was committed, so the
    # re-run of the tag step alone reads the same notes.
    with open(sc.p("state", "release_1.md"), "w") as f:
        f.write(git(sc.work, "cat-file", "blob", notes + ":RELEASE_NOTES.md") + "\n")
    before = (sc.refs("work"), sc.refs("origin"))
    reflog = git(sc.work, "reflog", "show", "--format=%H", "refs/heads/release/1")
    rc, out = sc.run("--step", "tag")
    check(rc == 0, f"re-run exit {rc}, want 0", out)
    check((sc.refs("work"), sc.refs("origin")) == before, "the re-run changed refs", out)
    check(git(sc.work, "reflog", "show", "--format=%H", "refs/heads/release/1") == reflog,
          "the re-run wrote the branch again", out)
    check(f"branch release/1 already at {notes}, relhost's release-notes commit over "
          f"{sc.head} with these notes" in out, "no 'kept' note", out)
    check("pushed refs/heads/release/1 to origin: already there" in out, "remote state", out)


def case_changed_notes_replace_the_notes_commit():
    sc = Scene("notes-changed")
    sc.write_plan(prep_step(), notes_step())
    rc, out = sc.run()
    check(rc == 0, f"first run exit {rc}", out)
    first = git(sc.work, "rev-parse", "refs/heads/release/1")
    tag_obj = git(sc.work, "rev-parse", "refs/tags/v1")
    # A whole re-run: the notes now tell of it, so they differ from the committed ones.
    rc, out = sc.run()
    check(rc == 0, f"re-run exit {rc}, want 0", out)
    second = git(sc.work, "rev-parse", "refs/heads/release/1")
    check(second != first, "the notes commit was not replaced", out)
    check(commit_info(sc.work, second, "%P|%an") == f"{sc.head}|relhost",
          "the new notes commit is not relhost's over the candidate", out)
    check(git(sc.work, "rev-list", "--count", f"{sc.head}..{second}") == "1",
          "the branch is more than one commit over the candidate", out)
    blob = git(sc.work, "cat-file", "blob", second + ":RELEASE_NOTES.md")
    check(f"branch release/1 at {first}, relhost's release-notes commit" in blob,
          f"the new commit does not hold the new notes:\n{blob}", out)
    check(sc.remote_ref("refs/heads/release/1") == second, "the remote kept the old notes", out)
    check(f"replaced by {second}, leased on {first}" in out, "no lease note", out)
    check(f"pushed refs/heads/release/1 to origin: forced {first[:7]}...{second[:7]}" in out,
          "the push is not reported as a forced update", out)
    # The tag is the same object, still on the candidate, here and on the remote.
    check(git(sc.work, "rev-parse", "refs/tags/v1") == tag_obj and
          sc.remote_ref("refs/tags/v1") == tag_obj, "the tag changed", out)
    check(sc.remote_ref("refs/tags/v1^{commit}") == sc.head, "the tag left the candidate", out)
    # Somebody else's commit on the branch is not relhost's to replace: FAILED, nothing moves.
    other = relhost_notes_commit(sc, sc.head, author="someone")
    git(sc.work, "update-ref", "refs/heads/release/1", other, second)
    rc, out = sc.run("--step", "tag")
    check(rc == 1, f"branch at a stranger's commit: exit {rc}, want 1", out)
    check(f"branch release/1 exists at {other}, expected {sc.head}" in out, "message", out)
    check(git(sc.work, "rev-parse", "refs/heads/release/1") == other, "the branch moved", out)
    check(sc.remote_ref("refs/heads/release/1") == second, "the remote changed on FAILED", out)


def case_notes_commit_leaves_the_work_tree_and_index_alone():
    sc = Scene("notes-index")
    # A staged change and an unstaged one: neither may reach the notes commit or be lost.
    sc.write("a.txt", "staged\n")
    git(sc.work, "add", "a.txt")
    sc.write("a.txt", "unstaged\n")
    sc.write("RELEASE_NOTES.md", "an untracked file of the user's\n")
    staged = git(sc.work, "diff", "--cached")
    index = index_bytes(sc)
    sc.write_plan(prep_step("require_clean = false;"),
                  notes_step("require_clean = false;"), plan_repo=False)
    rc, out = sc.run()
    check(rc == 0, f"exit {rc}, want 0", out)
    notes = git(sc.work, "rev-parse", "refs/heads/release/1")
    check(commit_info(sc.work, notes, "%P") == sc.head, "notes commit not over HEAD", out)
    check(git(sc.work, "cat-file", "blob", notes + ":a.txt") == "two",
          "the user's staged change leaked into the notes commit", out)
    check(index_bytes(sc) == index and git(sc.work, "diff", "--cached") == staged,
          "the user's index changed", out)
    with open(os.path.join(sc.work, "a.txt")) as f:
        check(f.read() == "unstaged\n", "the work tree file changed", out)
    with open(os.path.join(sc.work, "RELEASE_NOTES.md")) as f:
        check(f.read() == "an untracked file of the user's\n", "the user's file changed", out)
    check(git(sc.work, "rev-parse", "HEAD") == sc.head and
          git(sc.work, "symbolic-ref", "HEAD") == "refs/heads/main", "HEAD changed", out)
    check(leftovers(sc) == [], f"temporary files left: {leftovers(sc)}", out)
    # A release branch checked out by the user is not moved under their work tree.
    sc2 = Scene("notes-checked-out")
    git(sc2.work, "branch", "release/1", sc2.head)
    git(sc2.work, "switch", "-q", "release/1")
    sc2.write_plan(prep_step(), notes_step())
    rc, out = sc2.run()
    check(rc == 3, f"branch checked out: exit {rc}, want 3", out)
    msg = sc2.step("tag")["message"]
    check(f"branch release/1 is checked out in {sc2.work}" in msg and "git switch" in msg,
          msg, out)
    check(git(sc2.work, "rev-parse", "refs/heads/release/1") == sc2.head, "branch moved", out)
    check(sc2.remote_ref("refs/heads/release/1") == sc2.head and
          sc2.remote_ref("refs/tags/v1") == "", "the tag step pushed something", out)


def case_moved_remote_branch_fails_the_lease_and_pushes_nothing():
    sc = Scene("notes-lease")
    sc.write_plan(prep_step(), notes_step())
    rc, out = sc.run("--step", "prepare")
    check(rc == 0, f"prepare: exit {rc}", out)
    # Someone pushes to the release branch between relhost's ls-remote and its push: a git
    # whose push first moves the remote's branch, as that other push would.
    theirs = git(sc.work, "commit-tree", sc.head + "^{tree}", "-p", sc.head, "-m", "hotfix")
    git(sc.work, "push", "-q", "origin", f"{theirs}:refs/heads/someone")
    racing = sc.p("racing-git")
    real = shutil.which("git")
    with open(racing, "w") as f:
        f.write(f'#!/bin/sh\nfor a in "$@"; do case "$a" in push) {real} --git-dir '
                f'"{sc.origin}" update-ref refs/heads/release/1 {theirs};; esac; done\n'
                f'exec {real} "$@"\n')
    os.chmod(racing, 0o755)
    sc.write_plan(prep_step(), notes_step(f'git = "{racing}";'))
    rc, out = sc.run("--step", "tag")
    check(rc == 3, f"exit {rc}, want 3 (ERROR)", out)
    st = sc.step("tag")
    check(st["outcome"] == "ERROR" and st["reason"] == "push_rejected" and not st["retryable"],
          f"step {st}", out)
    check("stale info" in st["message"] and "moved after relhost read it" in st["message"],
          "the message does not say the branch moved", out)
    check("neither ref changed" in st["message"], "the message does not say nothing moved", out)
    # Their commit stays; the tag did not go either (one atomic push).
    check(sc.remote_ref("refs/heads/release/1") == theirs, "their push was overwritten", out)
    check(sc.remote_ref("refs/tags/v1") == "", "the tag was pushed without the branch", out)
    # Next run, with the race over: their branch is somebody else's commit, FAILED, untouched.
    sc.write_plan(prep_step(), notes_step())
    rc, out = sc.run("--step", "tag")
    check(rc == 1, f"re-run: exit {rc}, want 1 (FAILED)", out)
    check(f"branch release/1 on origin exists at {theirs}" in out, "message", out)
    check(sc.remote_ref("refs/heads/release/1") == theirs, "the remote branch moved", out)
    check(sc.remote_ref("refs/tags/v1") == "", "the tag was pushed", out)


def case_notes_missing_is_an_error_and_changes_nothing():
    sc = Scene("notes-missing")
    git(sc.work, "branch", "release/1", sc.head)
    sc.write_plan(notes_step())  # the first step: no step has written the notes yet
    before = (sc.refs("work"), sc.refs("origin"))
    rc, out = sc.run()
    check(rc == 3, f"exit {rc}, want 3", out)
    msg = sc.step("tag")["message"]
    check(f"the release notes {sc.p('state', 'release_1.md')}: No such file" in msg and
          "commit_notes = false" in msg, msg, out)
    check((sc.refs("work"), sc.refs("origin")) == before, "refs changed", out)


def case_notes_path_on_a_folder_is_an_error_and_leaves_nothing():
    sc = Scene("notes-folder")
    os.mkdir(os.path.join(sc.work, "docs"))
    sc.write("docs/x.md", "x\n")
    git(sc.work, "add", "docs/x.md")
    git(sc.work, "commit", "-q", "-m", "docs")
    head = git(sc.work, "rev-parse", "HEAD")
    sc.write_plan(prep_step(), notes_step('notes_path = "docs";'))
    rc, out = sc.run()
    check(rc == 3, f"exit {rc}, want 3", out)
    msg = sc.step("tag")["message"]
    check(f"could not build the tree of {head} plus the notes at docs" in msg and
          "appears as both a file and as a directory" in msg and
          "choose a notes_path" in msg, msg, out)
    check(git(sc.work, "rev-parse", "refs/heads/release/1") == head, "the branch moved", out)
    check(sc.remote_ref("refs/tags/v1") == "", "the tag was pushed", out)
    check(leftovers(sc) == [], f"temporary files left: {leftovers(sc)}", out)


def case_check_describes_the_notes_commit():
    sc = Scene("notes-check")
    git(sc.work, "branch", "release/1", sc.head)
    sc.write_plan(notes_step('notes_path = "docs/notes-{version}.md";'))
    before = (sc.refs("work"), sc.refs("origin"))
    rc, out = sc.run("--check", "-v")
    check(rc == 0, f"exit {rc}, want 0", out)
    check(f"would commit the release notes to docs/notes-1.md on branch release/1: one commit "
          f"over {sc.head}, author relhost" in out, "the notes commit is not described", out)
    check(f"the tag stays on {sc.head}" in out, "the tag's place is not said", out)
    check("--force-with-lease" in out, "the leased push is not described", out)
    ran = re.findall(r"run: \S*git -C \S+ (\S+)", out)
    check(ran and set(ran) <= READ_ONLY, f"--check ran {sorted(set(ran) - READ_ONLY)}", out)
    check((sc.refs("work"), sc.refs("origin")) == before, "--check changed refs", out)


def case_bad_notes_settings_are_refused_at_plan_load():
    sc = Scene("notes-conf")
    cases = [
        ('notes_path = "/etc/RELEASE_NOTES.md";', "it is absolute"),
        ('notes_path = "../RELEASE_NOTES.md";', 'it has a "." or ".." part'),
        ('notes_path = "docs/../../x.md";', 'it has a "." or ".." part'),
        ('notes_path = ".git/hooks/post-checkout";', 'it has a ".git" part'),
        ('notes_path = "docs/.GIT/x";', 'it has a ".git" part'),
        ('notes_path = "docs//x.md";', 'it contains "//"'),
        ('notes_path = "docs/";', "it ends with '/'"),
        ('notes_path = "";', "it is empty"),
    ]
    for extra, want in cases:
        sc.write_plan(notes_step(extra))
        rc, out = sc.run("--check")
        check(rc == 2, f"{extra}: exit {rc}, want 2", out)
        check("is not a file inside the repository: " + want in out, f"{extra}: no {want!r}",
              out)
        check(re.search(r"plan\.cfg:3: notes_path", out) is not None, f"{extra}: file:line", out)
    for step, want in [
        (prep_step("commit_notes = true;"), 'commit_notes belongs to action = "tag"'),
        ('{ name = "tag"; plugin = "git"; action = "tag"; repo = "work"; tag = "v1"; '
         'commit_notes = true; }', "commit_notes commits the notes onto the release branch"),
    ]:
        sc.write_plan(step)
        rc, out = sc.run("--check")
        check(rc == 2, f"{step}: exit {rc}, want 2", out)
        check(want in out and re.search(r"plan\.cfg:3: commit_notes", out), f"{step}", out)
    check(sc.remote_has_no_release_refs(), "something was pushed", out)


CASES = {k[5:]: v for k, v in globals().items() if k.startswith("case_")}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in CASES:
        print("usage: git.py CASE; cases:", " ".join(sorted(CASES)))
        sys.exit(2)
    CASES[sys.argv[1]]()
    print("ok")
