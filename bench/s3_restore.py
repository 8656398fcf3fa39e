#!/usr/bin/env python3
"""S3 point-in-time roll-back, side by side on one moto server (shared/design/benchmarks.md).

Scenario: a versioned bucket of N objects of 4 KiB; at T+ every object is overwritten
with garbage of the same size, every 10th deleted, one ransom note added. Each peer rolls
the bucket back to T; then every pre-T key is fetched in full and its MD5 compared.
Peers: lifeboat (s3.restore_to_time), s3-pit-restore 0.9 (10 workers), and a boto3
script with 32 threads doing the same roll-back. Rounds are interleaved; medians reported.
Requests are counted from the moto server's own access log. Beside each wall: the CPU
the server spent on the run (read from /proc; one Python process, so its CPU is its busy
time) and the client's own CPU, so a gap between two peers that send the same requests
can be told apart: the server's work, the client's work, or the server waiting.
A first run of the boto3 peer warms the server up and is not counted.
"""
import concurrent.futures as cf
import hashlib, json, os, re, resource, shutil, socket, statistics, subprocess, sys, tempfile, time, urllib.request
from datetime import datetime, timezone

import boto3

N = int(os.environ.get("BENCH_OBJECTS", "2000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
BUCKET = "bench-bucket"
LIFEBOAT = os.path.abspath(os.environ.get("LIFEBOAT", "target/release/lifeboat"))
# BENCH_ONE_CURSOR=1 adds lifeboat listing from one cursor (LIFEBOAT_S3_LISTERS=1).
# Another build of lifeboat to run beside it (an older commit, for a same-day comparison).
LIFEBOAT_BEFORE = os.environ.get("LIFEBOAT_BEFORE")

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

port = free_port()
url = f"http://127.0.0.1:{port}"
log = tempfile.NamedTemporaryFile("w+", suffix=".moto.log", delete=False)
server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log)
env = dict(os.environ, AWS_ENDPOINT_URL=url, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",
           AWS_REGION="eu-central-1", AWS_DEFAULT_REGION="eu-central-1", AWS_EC2_METADATA_DISABLED="true")
os.environ.update({k: env[k] for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")})
for _ in range(200):
    try:
        urllib.request.urlopen(url + "/moto-api/"); break
    except Exception:
        time.sleep(0.05)
s3 = boto3.client("s3", endpoint_url=url, region_name="eu-central-1",
                  config=boto3.session.Config(max_pool_connections=64, s3={"addressing_style": "path"}))

def server_cpu():
    """Seconds of CPU the moto server has used (user + system), from /proc."""
    with open(f"/proc/{server.pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

def client_cpu():
    """Seconds of CPU used by this script's threads and its finished children."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime

def requests_so_far():
    log.flush()
    with open(log.name) as f:
        return sum(1 for l in f if '" 200 ' in l or '" 204 ' in l or '" 404 ' in l or '" 403 ' in l)

def seed():
    urllib.request.urlopen(urllib.request.Request(url + "/moto-api/reset", method="POST"))
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    good = {}
    def put(i):
        body = os.urandom(4096); key = f"docs/{i:05d}.pdf"
        s3.put_object(Bucket=BUCKET, Key=key, Body=body); return key, hashlib.md5(body).hexdigest()
    with cf.ThreadPoolExecutor(32) as ex:
        good = dict(ex.map(put, range(N)))
    time.sleep(1.2)  # LastModified has one-second precision
    t = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    time.sleep(1.2)
    def attack(i):
        key = f"docs/{i:05d}.pdf"
        s3.put_object(Bucket=BUCKET, Key=key, Body=os.urandom(4096))  # same size
        if i % 10 == 0:
            s3.delete_object(Bucket=BUCKET, Key=key)
    with cf.ThreadPoolExecutor(32) as ex:
        list(ex.map(attack, range(N)))
    s3.put_object(Bucket=BUCKET, Key="README-RESTORE-YOUR-FILES.txt", Body=b"pay")
    return good, t

def correct(good):
    def md5(key):
        try:
            return key, hashlib.md5(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()).hexdigest()
        except s3.exceptions.NoSuchKey:
            return key, None
    with cf.ThreadPoolExecutor(32) as ex:
        got = dict(ex.map(md5, good))
    wrong = sum(1 for k in good if got[k] != good[k])
    return wrong

def run_lifeboat(t, work, binary=LIFEBOAT, extra=None):
    with open(os.path.join(work, "datasets.yaml"), "w") as f:
        f.write("apiVersion: lifeboat/v1\nkind: DatasetCatalog\ndatasets:\n  - { id: bench, title: Bench, classification: internal, rpo: 1h, rto: 1d, primary: { region: eu-central-1 }, resources: [{ kind: s3-bucket, id: %s, role: production }] }\n" % BUCKET)
    with open(os.path.join(work, "rb.yaml"), "w") as f:
        f.write("apiVersion: lifeboat/v1\nkind: Runbook\nid: bench\ntitle: Bench\ndataset: bench\nscenario: ransomware\ninputs: { t: { type: timestamp } }\nphases:\n  - id: p\n    title: P\n    budget: 1h\n    steps: [{ id: restore, title: Roll back, action: s3.restore_to_time, with: { bucket: %s, time: \"${{ inputs.t }}\" } }]\n" % BUCKET)
    with open(os.path.join(work, "a.yaml"), "w") as f:
        f.write(f"apiVersion: lifeboat/v1\nkind: Answers\noperator: bench\ninputs: {{ t: \"{t}\" }}\n")
    logf = os.path.join(work, f"run-{time.time_ns()}.jsonl")
    subprocess.run([binary, "run", "rb.yaml", "--headless", "--cloud", "aws", "--answers", "a.yaml", "--log", logf],
                   cwd=work, env=dict(env, **(extra or {})), check=True, stderr=subprocess.DEVNULL)
    # How many copies the pace held in flight at most (builds that pace say so in the log).
    with open(logf) as f:
        paced = [m.group(1) for m in re.finditer(r"requests in flight: up to (\d+)", f.read())]
    if paced:
        print(f"  (copies in flight: up to {paced[-1]})", flush=True)

def run_pit(t, work):
    subprocess.run(["s3-pit-restore", "-b", BUCKET, "-B", BUCKET, "-t", t, "--max-workers", "10"],
                   env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=work)

def run_boto3(t, work):
    """The same roll-back as lifeboat's, in 32 threads: list every version, copy each
    changed key's version at or before T on top, remove delete markers made after T."""
    when = datetime.strptime(t, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    keys = {}
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=BUCKET):
        for v in page.get("Versions", []):
            keys.setdefault(v["Key"], []).append((v["LastModified"], v["VersionId"], v["ETag"], False))
        for m in page.get("DeleteMarkers", []):
            keys.setdefault(m["Key"], []).append((m["LastModified"], m["VersionId"], None, True))
    work_items = []
    for key, vs in keys.items():
        vs.sort(key=lambda v: v[0])
        chosen = [v for v in vs if v[0] <= when]
        if not chosen or chosen[-1][3]:
            continue
        c, cur = chosen[-1], vs[-1]
        if not cur[3] and cur[2] == c[2]:
            continue
        after = [v for v in vs if v[0] > c[0]]
        work_items.append((key, c[1], [v[1] for v in after] if all(v[3] for v in after) else None))
    def do(item):
        key, vid, markers = item
        if markers is not None:
            for m in markers:
                s3.delete_object(Bucket=BUCKET, Key=key, VersionId=m)
        else:
            s3.copy_object(Bucket=BUCKET, Key=key, CopySource={"Bucket": BUCKET, "Key": key, "VersionId": vid})
    with cf.ThreadPoolExecutor(32) as ex:
        list(ex.map(do, work_items))

peers = {"lifeboat": run_lifeboat, "s3-pit-restore (10 workers)": run_pit, "boto3, 32 threads": run_boto3}
if LIFEBOAT_BEFORE:
    peers["lifeboat before"] = lambda t, work: run_lifeboat(t, work, os.path.abspath(LIFEBOAT_BEFORE))
if os.environ.get("BENCH_ONE_CURSOR"):
    peers["lifeboat, one cursor"] = lambda t, work: run_lifeboat(t, work, extra={"LIFEBOAT_S3_LISTERS": "1"})
results = {p: [] for p in peers}
work = tempfile.mkdtemp()
try:
    if os.environ.get("BENCH_WARMUP", "1") != "0":
        good, t = seed(); run_boto3(t, work); correct(good)
    for r in range(ROUNDS):
        for name, fn in (list(peers.items()) if r % 2 == 0 else list(reversed(list(peers.items())))):
            good, t = seed()
            before = requests_so_far()
            cpu0, mine0 = server_cpu(), client_cpu()
            start = time.perf_counter()
            fn(t, work)
            wall = time.perf_counter() - start
            cpu, mine = server_cpu() - cpu0, client_cpu() - mine0
            reqs = requests_so_far() - before
            wrong = correct(good)
            results[name].append((wall, reqs, wrong, cpu, mine))
            print(f"round {r + 1} {name}: {wall:.2f} s, server CPU {cpu:.2f} s, client CPU {mine:.2f} s, {reqs} requests, {wrong} wrong", flush=True)
    base = statistics.median(x[0] for x in results["boto3, 32 threads"])
    pit = statistics.median(x[0] for x in results["s3-pit-restore (10 workers)"])
    print(f"\n{N} objects, {ROUNDS} rounds interleaved, medians (range of the walls)")
    print("| peer | wall | ÷ boto3-32 | ÷ s3-pit-restore | server CPU | server waiting | client CPU | requests | wrong objects (all rounds) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, rs in results.items():
        med = lambda i: statistics.median(x[i] for x in rs)
        w, lo, hi = med(0), min(x[0] for x in rs), max(x[0] for x in rs)
        idle = statistics.median(x[0] - x[3] for x in rs)
        print(f"| {name} | {w:.2f} s ({lo:.2f}–{hi:.2f}) | {w / base:.2f} | {w / pit:.2f} | {med(3):.2f} s | {idle:.2f} s | {med(4):.2f} s | {int(med(1))} | {sum(x[2] for x in rs)} |")
finally:
    server.terminate()
    shutil.rmtree(work, ignore_errors=True)
