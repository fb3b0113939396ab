#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""cluster.py - a throw-away single-node Slurm 22.05 cluster on 127.0.0.1 for relhost's tests.

Everything lives in one temporary folder: slurm.conf, cgroup.conf, a private munge key and socket,
the controller's state, slurmd's spool, pid and log files. The daemons run in the foreground as
children of the test (munged -F, slurmctld -D, slurmd -D), on free ports, and are always stopped
at the end, with every job they started.

As a module (what tests/slurm/slurm.py does):

    with cluster.Cluster() as c:      # raises cluster.NotStarted(reason) when it cannot start
        env = c.env()                 # SLURM_CONF for the client commands
        ...

As a command, the harness around any test command (exit 77 = skipped, as ctest expects):

    tests/slurm/cluster.py run -- CMD ARGS...    # SLURM_CONF is set for CMD
    tests/slurm/cluster.py check                  # start, show sinfo, stop
"""
import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SKIP = 77
START_TIMEOUT = 45.0   # seconds for munged + slurmctld + slurmd to report an idle node
NODE_CPUS = 8          # declared CPUs (slurmd may have fewer: config_overrides): 4+ jobs at once


class NotStarted(Exception):
    """The daemons could not be started here (not installed, not root, did not come up)."""


def _free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _die_with_parent():
    # A test killed with SIGKILL must not leave daemons behind: the kernel stops them then.
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _which(name):
    for d in ("/usr/sbin", "/usr/bin", "/sbin", "/bin"):
        p = os.path.join(d, name)
        if os.access(p, os.X_OK):
            return p
    return shutil.which(name)


class Cluster:
    def __init__(self, keep=False, cpus=NODE_CPUS):
        self.keep = keep or bool(os.environ.get("RELHOST_KEEP_TMP"))
        self.cpus = cpus  # declared: a node of `true` jobs is bound by launch latency, not CPU
        self.dir = None
        self.procs = []
        self.conf = None

    # -- life cycle -------------------------------------------------------------------------

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def env(self, extra=None):
        """Environment for client commands (sbatch, squeue, relhost): ours plus SLURM_CONF."""
        e = dict(os.environ)
        e["SLURM_CONF"] = self.conf
        if extra:
            e.update(extra)
        return e

    def start(self):
        if os.geteuid() != 0:
            raise NotStarted("needs root (SlurmUser=root, slurmd starts jobs as any user)")
        bins = {n: _which(n) for n in ("munged", "slurmctld", "slurmd", "sinfo", "squeue",
                                       "scancel", "sbatch")}
        missing = [n for n, p in bins.items() if not p]
        if missing:
            raise NotStarted("not installed: " + ", ".join(missing) +
                             " (apt-get install slurmctld slurmd slurm-client munge)")
        self.bins = bins
        # Short path under /tmp: a unix socket path has at most 107 bytes.
        self.dir = tempfile.mkdtemp(prefix="rh-slurm-")
        os.chmod(self.dir, 0o755)
        d = self.dir
        for sub in ("munge", "state", "spool", "log"):
            os.mkdir(os.path.join(d, sub), 0o755)
        key = os.path.join(d, "munge", "munge.key")
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, os.urandom(1024))
        os.close(fd)
        self.munge_socket = os.path.join(d, "munge", "munge.socket")
        self.ctld_port, self.slurmd_port = _free_port(), _free_port()
        while self.slurmd_port == self.ctld_port:
            self.slurmd_port = _free_port()
        cpus = max(os.cpu_count() or 1, self.cpus)
        self.conf = os.path.join(d, "slurm.conf")
        with open(self.conf, "w") as f:
            f.write(f"""# relhost test cluster ({d})
ClusterName=relhosttest
SlurmctldHost=localhost
SlurmctldPort={self.ctld_port}
SlurmdPort={self.slurmd_port}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={self.munge_socket}
SlurmUser=root
SlurmdUser=root
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.pid
SlurmctldLogFile={d}/log/slurmctld.log
SlurmdLogFile={d}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
ReturnToService=2
MinJobAge=600
# room for the 1,200-task array of real_1200_tasks_as_arrays_under_ulimit_1024 (default 1001)
MaxArraySize=2001
SchedulerParameters=default_queue_depth=2000
KillWait=2
InactiveLimit=0
NodeName=localhost CPUs={cpus} RealMemory=1024 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
""")
        with open(os.path.join(d, "cgroup.conf"), "w") as f:
            # proctrack/linuxproc and task/none use no cgroups; slurmd still reads this file.
            f.write("CgroupPlugin=cgroup/v1\nCgroupAutomount=no\n")
        env = self.env()
        self._spawn("munged", [bins["munged"], "-F", "--force", f"--key-file={key}",
                               f"--socket={self.munge_socket}",
                               f"--pid-file={d}/munge/munged.pid",
                               f"--log-file={d}/log/munged.log",
                               f"--seed-file={d}/munge/munged.seed"], env)
        self._wait(lambda: os.path.exists(self.munge_socket), "munged's socket", 10)
        self._spawn("slurmctld", [bins["slurmctld"], "-D", "-f", self.conf], env)
        self._wait(self._ctld_up, "slurmctld to answer", 20)
        self._spawn("slurmd", [bins["slurmd"], "-D", "-f", self.conf, "-N", "localhost"], env)
        self._wait(self._node_idle, "the node to be idle in sinfo", START_TIMEOUT)

    def _spawn(self, name, argv, env):
        log = open(os.path.join(self.dir, "log", name + ".out"), "wb")
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                             env=env, preexec_fn=_die_with_parent)
        log.close()
        self.procs.append((name, p))

    def _wait(self, pred, what, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for name, p in self.procs:
                if p.poll() is not None:
                    raise NotStarted(f"{name} exited with {p.returncode} while waiting for "
                                     f"{what}: {self._tail(name)}")
            if pred():
                return
            time.sleep(0.2)
        raise NotStarted(f"timed out after {timeout:.0f} s waiting for {what}: "
                         f"{self._tail(self.procs[-1][0])}")

    def _tail(self, name):
        text = ""
        for f in (name + ".out", name + ".log"):
            p = os.path.join(self.dir, "log", f)
            if os.path.exists(p):
                with open(p, errors="replace") as fh:
                    text += fh.read()[-1500:]
        lines = [l for l in text.splitlines() if l.strip()]
        return " | ".join(lines[-6:]) or "(no output)"

    def _ctld_up(self):
        r = subprocess.run([self.bins["sinfo"], "-h", "-o", "%P"], env=self.env(),
                           capture_output=True, text=True, timeout=30)
        return r.returncode == 0

    def _node_idle(self):
        r = subprocess.run([self.bins["sinfo"], "-h", "-n", "localhost", "-o", "%T"],
                           env=self.env(), capture_output=True, text=True, timeout=30)
        return r.returncode == 0 and r.stdout.strip() == "idle"

    def stop(self):
        """Cancel every job, stop the daemons, kill whatever a job left behind."""
        if self.conf and self.procs:
            try:
                subprocess.run([self.bins["scancel"], "--user=root"], env=self.env(),
                               capture_output=True, timeout=20)
                end = time.monotonic() + 10
                while time.monotonic() < end and self._jobs_active():
                    time.sleep(0.2)
            except (subprocess.TimeoutExpired, OSError):
                pass
        for name, p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self.procs = []
        if self.conf:
            self._kill_leftovers()
        if self.dir and not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None

    def _jobs_active(self):
        r = subprocess.run([self.bins["squeue"], "-h", "-o", "%T"], env=self.env(),
                           capture_output=True, text=True, timeout=20)
        return r.returncode == 0 and any(s for s in r.stdout.split() if s != "COMPLETED")

    def _kill_leftovers(self):
        # slurmstepd and the jobs' processes outlive slurmd; they all carry our SLURM_CONF.
        want = b"\0SLURM_CONF=" + self.conf.encode() + b"\0"
        me = os.getpid()
        for pid in filter(str.isdigit, os.listdir("/proc")):
            if int(pid) == me:
                continue
            try:
                with open(f"/proc/{pid}/environ", "rb") as f:
                    envb = f.read()
            except OSError:
                continue
            if want in b"\0" + envb + b"\0":
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except OSError:
                    pass


def skip_message(reason):
    return f"SKIPPED: slurm daemons did not start: {reason}"


def main(argv):
    if len(argv) >= 1 and argv[0] == "check":
        try:
            with Cluster() as c:
                r = subprocess.run(["sinfo"], env=c.env())
                return r.returncode
        except NotStarted as e:
            print(skip_message(e), flush=True)
            return SKIP
    if len(argv) >= 2 and argv[0] == "run" and argv[1] == "--":
        c = Cluster()

        def on_signal(sig, _frame):
            raise SystemExit(128 + sig)

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        try:
            c.start()
        except NotStarted as e:
            c.stop()
            print(skip_message(e), flush=True)
            return SKIP
        try:
            return subprocess.run(argv[2:], env=c.env()).returncode
        finally:
            c.stop()
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
