"""Load and soak of `encoders-tf serve` over loopback: latency, throughput, memory, and exact responses.

Starts the embedded server as its own process on a free loopback port, sends requests from concurrent
clients (bounded in count and time), and reports p50/p99 latency and requests/s for batch 1 and batch 32,
for each model; then a soak of --soak requests to the first model, sampling the server's resident memory
and checking every response against the offline prediction of the same SavedModel. Prints the records as
JSON and writes benchmarks/results/serving-<date>.json.

    .venv/bin/python benchmarks/serving.py --base saved_models --models tweets-lstm,tweets-transformer
"""

import argparse
import concurrent.futures
import datetime
import http.client
import json
import pathlib
import socket
import subprocess
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def post(port, model, texts, timeout=60):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        body = json.dumps({"instances": list(texts)})
        started = time.perf_counter()
        connection.request("POST", f"/v1/models/{model}:predict", body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        payload = json.loads(response.read())
        elapsed = time.perf_counter() - started
    finally:
        connection.close()
    if response.status != 200:
        raise RuntimeError(f"{model}: HTTP {response.status}: {payload}")
    return elapsed, payload["predictions"]


def wait_until_serving(port, models, process, seconds=180):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with code {process.returncode}")
        try:
            for model in models:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.request("GET", f"/v1/models/{model}")
                if connection.getresponse().status != 200:
                    raise ConnectionError(model)
                connection.close()
            return
        except (ConnectionError, OSError):
            time.sleep(0.5)
    raise RuntimeError(f"the server did not serve {models} within {seconds} s")


def load(port, model, texts, batch, clients, requests, seconds):
    """Latencies of up to `requests` requests of `batch` texts from `clients` threads, within `seconds`."""
    batches = [texts[(i * batch) % len(texts):][:batch] or texts[:batch] for i in range(requests)]
    deadline = time.time() + seconds
    latencies = []
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        def one(texts_of_request):
            if time.time() > deadline:
                return None
            return post(port, model, texts_of_request)[0]

        latencies = [t for t in pool.map(one, batches) if t is not None]
    wall = time.perf_counter() - started
    return np.array(latencies) * 1000, len(latencies) / wall


def offline_probabilities(version_dir, texts):
    import tensorflow as tf
    import tensorflow_text  # noqa: F401

    serve = tf.saved_model.load(str(version_dir)).signatures["serving_default"]
    out = []
    for start in range(0, len(texts), 256):
        out.append(serve(text=tf.constant(texts[start:start + 256]))["probabilities"].numpy())
    return np.concatenate(out)


def soak(port, model, version_dir, texts, count, clients, server_pid, seconds):
    expected = offline_probabilities(version_dir, texts)
    memory, mismatches, done = [], 0, 0
    deadline = time.time() + seconds
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        for chunk_start in range(0, count, 1000):
            if time.time() > deadline:
                break
            indices = [i % len(texts) for i in range(chunk_start, min(chunk_start + 1000, count))]
            results = list(pool.map(lambda i: (i, post(port, model, [texts[i]])[1][0]), indices))
            for i, prediction in results:
                if np.abs(np.array(prediction["probabilities"]) - expected[i]).max() > 1e-5:
                    mismatches += 1
            done += len(results)
            memory.append(rss_mb(server_pid))
    return done, mismatches, memory


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", default="saved_models")
    parser.add_argument("--models", default="tweets-lstm,tweets-transformer")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--requests", type=int, default=400, help="requests per model and batch size")
    parser.add_argument("--soak", type=int, default=10_000, help="requests in the soak")
    parser.add_argument("--seconds", type=float, default=300, help="time bound of each phase")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    from encoders_tf.compare.comparison import machine
    from encoders_tf.data import load_dataset

    texts = list(load_dataset("tweets").test.texts)
    models = args.models.split(",")
    base = pathlib.Path(args.base)
    port = free_port()
    server = subprocess.Popen([str(pathlib.Path(sys.executable).with_name("encoders-tf")), "serve", "--base",
                               str(base), "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    records, date = [], datetime.date.today().isoformat()
    where = machine()
    command = "python benchmarks/serving.py " + " ".join(sys.argv[1:])

    def record(model, metric, value, unit):
        records.append({"benchmark": "serving", "dataset": "tweets", "split": "test", "model": model,
                        "metric": metric, "value": round(float(value), 4), "unit": unit, "machine": where,
                        "date": date, "command": command})

    try:
        wait_until_serving(port, models, server)
        for model in models:
            for batch in (1, 32):
                load(port, model, texts, batch, args.clients, 20, args.seconds)  # warm the server up
                latencies, rate = load(port, model, texts, batch, args.clients, args.requests, args.seconds)
                name = f"{model} batch {batch}"
                record(name, "p50_ms", np.percentile(latencies, 50), "ms")
                record(name, "p99_ms", np.percentile(latencies, 99), "ms")
                record(name, "requests_per_s", rate, "requests/s")
                record(name, "examples_per_s", rate * batch, "examples/s")
        model = models[0]
        version_dir = max((base / model).iterdir(), key=lambda p: int(p.name) if p.name.isdigit() else -1)
        done, mismatches, memory = soak(port, model, version_dir, texts, args.soak, args.clients, server.pid,
                                        args.seconds)
        settled = memory[1:] or memory  # after the first thousand requests
        record(f"{model} soak", "requests", done, "requests")
        record(f"{model} soak", "responses_differing_from_offline", mismatches, "responses")
        record(f"{model} soak", "rss_start_mb", settled[0], "MB")
        record(f"{model} soak", "rss_end_mb", settled[-1], "MB")
        record(f"{model} soak", "rss_growth_ratio", max(settled) / min(settled) - 1, "ratio")
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(json.dumps(records, indent=2))
    out = ROOT / "benchmarks" / "results" / f"serving-{date}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(records, indent=2) + "\n")


if __name__ == "__main__":
    main()
