"""The nightly job on a board of N accounts served on 127.0.0.1: wall time, CPU per stage, peak memory.

    nice -n 10 .venv/bin/python bench/night.py [--accounts 500] [--posts 20] [--image-every 3] [--workers N]
                                               [--compare ../old-checkout] [--timeline memory.csv] [--objects] [--analysed]

A local server (its own process) serves one RSS feed per account (`--posts` items, ETag, 304 when
unchanged); every `--image-every`-th post carries an image of its own (a photo of ../shared/images, or
a drawn one when that folder is absent, made distinct by a JPEG comment, so each is analysed). The
nightly job (`schoolaudit.scheduler.run_job`, digests written as .eml) runs in a child process twice:
the first night crawls, stores and audits everything; the second finds every feed unchanged.

For each night: wall time; CPU of the crawling process and of its workers (sampled from /proc);
CPU per auditor; peak memory of the whole process tree (resident, and proportional: a page shared by
several processes counted once) and of each process; the share of the cores the run had, over each
tenth of the run, beside the cores it wanted (time on a CPU plus time waiting for one, per thread, from
/proc/*/task/*/schedstat: on a shared machine, what the run would have used of idle cores); and
the CPU bound, total CPU ÷ cores, with the wall time's ratio to it (the aim: within 1.3x of the bound
and under 500 MB for 2,000 accounts; the second night under 30 s). Beside the image auditors' CPU
stands the bare-model time: the distinct images times the time one image takes in the models
(decode, faces, explicit score, text in images), measured here in this process on a dozen photos.

`--timeline FILE.csv` writes every sample of every process of the tree (run, night, seconds, pid, role,
resident MB, proportional MB), to tell a process that grows over the night from one that peaks once.
`--objects` (with `--timeline`) also counts, once a minute in each Python process of the tree, its live
objects by type (`gc`) and writes the counts beside the CSV (`FILE.objects.txt`): what a growing
process accumulates.

`--analysed` stores every image's analysis before the first night, as an earlier night would have (each
photo analysed once, its analysis kept under the sha256 of each of its distinct copies): the workers read
analyses instead of running the models, so a night of 2,000 accounts takes minutes and shows what grows
with the number of accounts and images, apart from the models' own peaks.

`--compare DIR` runs the same board with the code of another checkout first (e.g. a clone of main in ../old-checkout), so the
before and after are measured on the same loaded machine and printed as a ratio.
"""
from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from crawl import board_arguments, serve, write_config  # noqa: E402  (bench/crawl.py, beside this script)

#: ../shared/images beside the clone (or beside the folder of worktrees)
SHARED_IMAGES = next((d for d in (REPO.parent / "shared" / "images", REPO.parent.parent / "shared" / "images")
                      if d.is_dir()), REPO.parent / "shared" / "images")
TICKS = os.sysconf("SC_CLK_TCK")

NIGHT = """
import json, sys, time
from pathlib import Path
from schoolaudit.app import load_app
from schoolaudit.scheduler import run_job
app = load_app(sys.argv[1])
captured = {}
import schoolaudit.pipeline as pipeline
run = pipeline.Pipeline.run
def keep(self, *args, **kwargs):
    captured["summary"] = run(self, *args, **kwargs)
    return captured["summary"]
pipeline.Pipeline.run = keep
report = run_job(app, "nightly", dry_run=Path(sys.argv[2]))
summary = captured["summary"]
print(json.dumps({"status": report.status, "ok": len(summary.results) - len(summary.failed),
                  "failed": len(summary.failed), "posts_new": summary.total("posts_new"),
                  "findings_new": summary.total("findings_new"),
                  "audit_cpu": getattr(summary, "audit_cpu", {})}))
"""


#: Imported at the start of every Python process of the night's tree (`--objects`, through PYTHONPATH): a
#: thread that counts the process's live objects by type once a minute into a file of its own.
OBJECT_COUNTER = """
import gc, os, sys, threading, time, collections
def _count(folder=os.environ["NIGHT_OBJECTS"], every=float(os.environ.get("NIGHT_OBJECTS_EVERY", "60"))):
    started = time.monotonic()
    while True:
        time.sleep(every)
        counts = collections.Counter(type(o).__name__ for o in gc.get_objects())
        top = ", ".join(f"{name} {n}" for name, n in counts.most_common(12))
        with open(os.path.join(folder, f"{os.getpid()}.txt"), "a") as out:
            out.write(f"{time.monotonic() - started:.0f} s, {sum(counts.values())} objects: {top}\\n")
threading.Thread(target=_count, daemon=True, name="night-objects").start()
"""


def photos() -> list[bytes]:
    """The shared photos when present, else a few drawn ones (faces or not, the models run all the same)."""
    found = sorted(SHARED_IMAGES.glob("*.jpg")) if SHARED_IMAGES.is_dir() else []
    if found:
        return [path.read_bytes() for path in found]
    print(f"night.py: no photos in {SHARED_IMAGES}: drawn images instead (few or no faces: fewer findings)",
          file=sys.stderr)
    import io

    from PIL import Image, ImageDraw

    drawn = []
    for seed in range(8):
        image = Image.new("RGB", (1200, 800), (40 * seed % 255, 120, 200))
        draw = ImageDraw.Draw(image)
        for i in range(12):
            x, y = (97 * i * (seed + 1)) % 1100, (53 * i * (seed + 2)) % 700
            draw.ellipse((x, y, x + 90, y + 110), fill=(230, 190, 160), outline=(20, 20, 20))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=85)
        drawn.append(buffer.getvalue())
    return drawn


def bare_model_ms(images: list[bytes], rules_dir: Path) -> float:
    """Milliseconds of CPU one image takes in the models (decode, faces, explicit), in this process."""
    from auditors.image_analysis import ImageSettings, analyse_bytes
    from auditors.image_auditors import load_image_rules
    from schoolaudit.app import load_app

    rules, _ = load_image_rules(load_app(rules_dir).policy)
    settings = ImageSettings.from_rules(rules)
    analyse_bytes(images[0], settings)  # models loaded
    started = time.process_time()
    for data in images:
        analyse_bytes(data, settings)
    return (time.process_time() - started) / len(images) * 1000


def store_analyses(config: Path, images: list[bytes], numbers: range) -> None:
    """Each image `numbers` of the board analysed already (`--analysed`): its photo's analysis (made here, once
    per photo), in the media folder's analysis file under the sha256 of the image's distinct copy, where the
    night's auditors look first."""
    import hashlib

    from auditors.image_analysis import analyse_bytes
    from auditors.image_auditors import CACHE_FILE, image_settings, load_image_rules
    from crawl import distinct_jpeg
    from records.image_cache import ImageCache
    from schoolaudit.app import load_app

    app = load_app(config, announce=False)
    settings = image_settings(app.policy, load_image_rules(app.policy)[0])
    analyses = [analyse_bytes(photo, settings).to_dict() for photo in images]
    cache = ImageCache(app.settings.media_dir / CACHE_FILE)
    for number in numbers:
        sha = hashlib.sha256(distinct_jpeg(images, number)).hexdigest()
        cache.put(sha, settings.params, {**analyses[number % len(images)], "sha256": sha})
    cache.close()


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _pss(pid: int) -> int:
    """Proportional set size in bytes: a page shared by n processes (libraries, numpy) counts 1/n in each."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _stat(pid: int | str) -> list[str] | None:
    """The fields of /proc/PID/stat after the command's name (the state is [0]), None when the process is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2:].split()


def _cpu_seconds(fields: list[str] | None) -> float:
    """CPU seconds (user + system) of a process's stat fields (`_stat`), 0 when it is gone."""
    return (int(fields[11]) + int(fields[12])) / TICKS if fields else 0.0


def _bench_cpu(server: int | None) -> float:
    """CPU seconds of this process (its sampling) and of the board's `server` process: the bench's own."""
    return time.process_time() + (_cpu_seconds(_stat(server)) if server else 0.0)


class TreeSampler:
    """Peak summed RSS and CPU per process of a process and its descendants, read from /proc."""

    def __init__(self, root: int, timeline=None):
        self.root, self.peak_rss, self.peak_pss, self.cpu, self.peak_each = root, 0, 0, {}, {}
        self.rows = timeline  # a csv writer for each process's memory at each sample, or None
        self.started = time.perf_counter()
        self.roles = {root: "crawling"}  # pid -> what the process is, for the timeline
        self.peak_moment: tuple[float, dict[str, float]] = (0.0, {})  # (seconds, resident MB per role) at the tree's peak
        self.wanted: dict[tuple[int, int], float] = {}  # (pid, thread id) -> seconds on a CPU or waiting for one
        #: (seconds since start, root CPU, descendants' CPU, seconds on or waiting for a CPU, all threads)
        self.timeline: list[tuple[float, float, float, float]] = []

    def sample(self) -> None:
        parents, stats = {}, {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            if (fields := _stat(entry)) is None:
                continue
            parents[int(entry)] = int(fields[1])
            stats[int(entry)] = _cpu_seconds(fields), int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
            if int(fields[1]) == self.root:
                pid = int(entry)
                if self.roles.get(pid, "other") == "other":  # read until known: a child seen before its exec looks like its parent
                    self.roles[pid] = "worker" if "spawn_main" in _cmdline(pid) else "other"
        tree = {self.root}
        changed = True
        while changed:
            grown = {pid for pid, parent in parents.items() if parent in tree}
            changed = not grown <= tree
            tree |= grown
        tree &= set(stats)
        if (rss := sum(stats[pid][1] for pid in tree)) > self.peak_rss:
            self.peak_rss = rss
            self.peak_moment = time.perf_counter() - self.started, self._by_role(tree, stats)
        pss = {pid: _pss(pid) for pid in tree}
        self.peak_pss = max(self.peak_pss, sum(pss.values()))
        for pid in tree:
            self.cpu[pid] = stats[pid][0]
            rss, proportional = self.peak_each.get(pid, (0, 0))  # each peak on its own
            self.peak_each[pid] = max(rss, stats[pid][1]), max(proportional, pss[pid])
            self._read_schedstat(pid)
        if self.rows is not None:
            now = time.perf_counter() - self.started
            self.rows(((f"{now:.1f}", pid, self.roles.get(pid, "other"), f"{stats[pid][1] / 2**20:.1f}",
                        f"{pss[pid] / 2**20:.1f}") for pid in sorted(tree)))
        self.timeline.append((time.perf_counter() - self.started, *self.split(), sum(self.wanted.values())))

    def _by_role(self, tree: set[int], stats: dict) -> dict[str, float]:
        """Resident MB of the processes in `tree`, summed per role."""
        roles: dict[str, float] = {}
        for pid in tree:
            role = self.roles.get(pid, "other")
            roles[role] = roles.get(role, 0.0) + stats[pid][1] / 2**20
        return roles

    def _read_schedstat(self, pid: int) -> None:
        """Each thread's time on a CPU plus its time runnable but waiting for one (taken by other work on a
        shared machine): the cores the run would have used had they been free."""
        try:
            threads = os.listdir(f"/proc/{pid}/task")
        except OSError:
            return
        for thread in threads:
            try:
                on_cpu, waiting = Path(f"/proc/{pid}/task/{thread}/schedstat").read_text().split()[:2]
            except (OSError, ValueError):
                continue
            self.wanted[pid, int(thread)] = (int(on_cpu) + int(waiting)) / 1e9

    def busy(self, slices: int = 10) -> list[tuple[float, float, float]]:
        """(cores busy in the root process, in its descendants, cores wanted by all) over each tenth of the
        run: where the cores went idle (a wait in the crawl, workers starved or the crawling process
        saturated), and whether the run wanted more than the shared machine gave it."""
        if len(self.timeline) < 2:
            return []
        end, out, previous = self.timeline[-1][0], [], self.timeline[0]
        for k in range(1, slices + 1):
            upto = [sample for sample in self.timeline if sample[0] <= end * k / slices]
            current = upto[-1] if upto else previous
            span = current[0] - previous[0]
            out.append(tuple((now - before) / span for now, before in zip(current[1:], previous[1:]))
                       if span > 0 else (0, 0, 0))
            previous = current
        return out

    def peaks(self) -> list[tuple[float, float]]:
        """Peak (resident, proportional) MB of the root process, then of each descendant, largest first."""
        others = sorted((peak for pid, peak in self.peak_each.items() if pid != self.root), reverse=True)
        root = self.peak_each.get(self.root, (0, 0))
        return [(rss / 2**20, pss / 2**20) for rss, pss in [root, *others]]

    def split(self) -> tuple[float, float]:
        """(CPU seconds of the root process, of all its descendants)."""
        root = self.cpu.get(self.root, 0.0)
        return root, sum(self.cpu.values()) - root


def night(code: Path, config: Path, outbox: Path, timeline=None, objects: Path | None = None,
          server: int | None = None) -> dict:
    """Run the nightly job once with the code in `code`; its measurements. `timeline` takes each sample's
    rows (seconds, pid, role, resident MB, proportional MB); with `objects`, a folder, each process of the
    tree counts its objects into it (OBJECT_COUNTER). The bench's own CPU beside the run (this process's
    sampling and the `server` process) is measured too: it competes with the run for the cores."""
    harness = _bench_cpu(server)
    env = dict(os.environ, PYTHONPATH=str(code))
    if objects is not None:
        (objects / "sitecustomize.py").write_text(OBJECT_COUNTER)
        env.update(PYTHONPATH=f"{objects}{os.pathsep}{code}", NIGHT_OBJECTS=str(objects))
    started = time.perf_counter()
    job = subprocess.Popen([sys.executable, "-c", NIGHT, str(config), str(outbox)], cwd=code, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sampler = TreeSampler(job.pid, timeline)
    while job.poll() is None:
        sampler.sample()
        time.sleep(0.1)
    wall = time.perf_counter() - started
    out, err = job.communicate()
    if job.returncode != 0:
        raise SystemExit(f"the nightly job failed ({job.returncode}):\n{err[-3000:]}")
    main_cpu, workers_cpu = sampler.split()
    harness = _bench_cpu(server) - harness
    result = json.loads(out.strip().splitlines()[-1])
    result.update(load=os.getloadavg()[0], wall=wall, main_cpu=main_cpu, workers_cpu=workers_cpu, harness_cpu=harness,
                  peak_mb=sampler.peak_rss / 2**20, pss_mb=sampler.peak_pss / 2**20, process_mb=sampler.peaks(),
                  peak_moment=sampler.peak_moment,
                  busy=sampler.busy(), wanted=sum(sampler.wanted.values()))
    return result


def report(label: str, result: dict, cores: int, images: int, bare_ms: float) -> None:
    cpu = result["main_cpu"] + result["workers_cpu"]
    bound = cpu / cores
    print(f"  {label}: {result['wall']:7.1f} s wall, {cpu:7.1f} s CPU (crawling process {result['main_cpu']:.1f} s, "
          f"workers {result['workers_cpu']:.1f} s); CPU bound {bound:.1f} s (CPU / {cores} cores): "
          f"{result['wall'] / bound:.2f}x the bound")
    print(f"      the run had {cpu / result['wall']:.2f} of the {cores} cores on average; load average "
          f"{result['load']:.1f} at its end (other work on the machine: the bound assumes idle cores)")
    print(f"      peak memory of the process tree: {result['peak_mb']:.0f} MB resident, {result['pss_mb']:.0f} MB "
          f"proportional (shared pages counted once; aim < 500 MB)")
    seconds, roles = result["peak_moment"]
    print(f"      the tree's resident peak came {seconds:.0f} s into the night: "
          + ", ".join(f"{role} {mb:.0f} MB" for role, mb in sorted(roles.items(), key=lambda item: -item[1])))
    (main_mb, main_pss), *children_mb = result["process_mb"]
    print(f"      peak per process, resident (proportional): crawling process {main_mb:.0f} ({main_pss:.0f}) MB; "
          "its children (workers, resource tracker) "
          + (", ".join(f"{mb:.0f} ({pss:.0f})" for mb, pss in children_mb) or "none") + " MB")
    print("      cores busy over each tenth of the run (crawling process + workers, / cores wanted: busy or "
          "waiting for a CPU): " + ", ".join(f"{main:.1f}+{workers:.1f}/{wanted:.1f}"
                                             for main, workers, wanted in result["busy"]))
    # without schedstat (a kernel that keeps none) the run wanted at least the CPU it had
    wanted = max(result["wanted"], cpu) / result["wall"]
    print(f"      cores wanted over the run: {wanted:.2f} (busy or waiting for a CPU held by other work, the bench's own "
          f"server and sampler or the run's other threads; {cores} means the run would use every core): had every "
          f"waiting thread had a core, about {cores / min(wanted, cores):.2f}x the bound")
    print(f"      the bench's own server and sampler beside the run: {result['harness_cpu']:.1f} s CPU "
          f"({result['harness_cpu'] / result['wall']:.2f} of a core)")
    print(f"      {result['ok']} accounts ok, {result['failed']} failed, {result['posts_new']} new posts, "
          f"{result['findings_new']} new findings")
    audit = result.get("audit_cpu") or {}
    if audit:
        auditing = sum(audit.values())
        print(f"      auditing {auditing:.1f} s CPU: image analysis, whichever auditor reads an image first, beside "
              f"its bare models ({images} images x {bare_ms:.0f} ms = {images * bare_ms / 1000:.1f} s), and the text "
              f"auditors; crawl, parse, store, worker start-up and digests {cpu - auditing:.1f} s")
        print("      per auditor: " + ", ".join(f"{name} {seconds:.1f} s"
                                                for name, seconds in sorted(audit.items(), key=lambda i: -i[1])))


def recorders(args: argparse.Namespace, table, root: Path, run: str, which: str) -> tuple:
    """(the timeline's row writer, the folder the processes count their objects into) for one night, or Nones."""
    if table is None:
        return None, None

    def rows(samples) -> None:
        table.writerows((run, which, *sample) for sample in samples)

    objects = None
    if args.objects:
        objects = root / f"objects-{run.replace(' ', '-')}-{which}"
        objects.mkdir()
    return rows, objects


def gather_objects(args: argparse.Namespace, root: Path) -> None:
    """Each process's object counts, gathered beside the timeline (FILE.objects.txt)."""
    with args.timeline.with_suffix(".objects.txt").open("w") as out:
        for folder in sorted(root.glob("objects-*")):
            for counts in sorted(folder.glob("*.txt")):
                out.write(f"== {folder.name.removeprefix('objects-')}, process {counts.stem}\n{counts.read_text()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     epilog="Example: nice -n 10 .venv/bin/python bench/night.py --accounts 500 --posts 20 --compare ../old-checkout")
    board_arguments(parser, accounts=500, posts=20)
    parser.add_argument("--image-every", type=int, default=3, help="one post in this many carries an image")
    parser.add_argument("--compare", type=Path, help="a checkout whose code runs the same board first")
    parser.add_argument("--analysed", action="store_true",
                        help="every image analysed before the first night: memory growth without the models' runs")
    parser.add_argument("--timeline", type=Path, help="a CSV file for each process's memory at each sample")
    parser.add_argument("--objects", action="store_true",
                        help="with --timeline: each process's live objects by type once a minute, in FILE.objects.txt")
    args = parser.parse_args(argv)
    if args.objects and not args.timeline:
        parser.error("--objects writes beside the --timeline file: give --timeline too")
    if args.analysed and args.compare:  # the other checkout's settings may key its analyses otherwise: all misses
        parser.error("--analysed stores analyses under this code's settings key: not with --compare")

    cores = os.cpu_count() or 1
    images = photos()
    ports = multiprocessing.Queue()
    server = multiprocessing.Process(target=serve, args=(ports, 0.0, args.posts, args.image_every, images),
                                     daemon=True)
    server.start()
    base = f"http://127.0.0.1:{ports.get(timeout=30)}"
    numbers = range(0, args.accounts * args.posts, args.image_every)  # the posts with an image
    distinct = len(numbers)
    crawl = {"allow_private_addresses": True, "posts_per_account": args.posts}
    root = Path(tempfile.mkdtemp(prefix="schoolaudit-night-"))
    timeline = args.timeline.open("w", newline="", buffering=1) if args.timeline else None
    table = csv.writer(timeline) if timeline else None
    if table:
        table.writerow(("run", "night", "seconds", "pid", "role", "rss_mb", "pss_mb"))
    try:
        runs = [("before", args.compare.resolve(), {})] if args.compare else []
        workers = {} if args.workers is None else {"workers": args.workers}
        runs.append(("after" if args.compare else "this code", REPO, workers))
        bare_ms, before = None, None
        print(f"{args.accounts} accounts x {args.posts} posts, {distinct} distinct images, {cores} cores")
        for label, code, extra in runs:
            folder = root / label
            folder.mkdir()
            config = write_config(folder, base, args.accounts, args.concurrency, **crawl, **extra)
            if bare_ms is None:
                bare_ms = bare_model_ms(images[::max(1, len(images) // 12)], config)
            if args.analysed:  # one run only: refused with --compare
                store_analyses(config, images, numbers)
            first, second = (night(code, config, folder / "outbox", *recorders(args, table, root, label, which),
                                   server=server.pid) for which in ("first", "second"))
            print(f"{label} ({code}):")
            report("first night ", first, cores, distinct, bare_ms)
            report("second night", second, cores, distinct, bare_ms)
            print(f"      second night aim < 30 s: {second['wall']:.1f} s")
            if before:
                print(f"after / before: first night {first['wall'] / before[0]['wall']:.2f}x wall, "
                      f"{first['peak_mb'] / before[0]['peak_mb']:.2f}x resident, "
                      f"{first['pss_mb'] / before[0]['pss_mb']:.2f}x proportional memory; second night "
                      f"{second['wall'] / before[1]['wall']:.2f}x wall")
            before = (first, second)
        if args.objects:
            gather_objects(args, root)
    finally:
        if timeline:
            timeline.close()
        server.terminate()
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
