#!/usr/bin/env python3
"""What can be checked of the deployment files without Docker or a Kubernetes cluster
(neither runs on the CI machine):

- every YAML file under deploy/ and ops/ parses;
- Dockerfile: multi-stage, Debian bookworm only, installs the .deb built by cpack, runs as a
  numeric non-root user; the build stage installs the build dependencies of
  scripts/setup.sh; every path the image relies on (/usr/bin/wijkpuls, the configuration
  and the register) is in the .deb the ops.package test built; the healthcheck and the
  exposed port match the container configuration and the daemon's endpoints;
- Kubernetes: the StatefulSet's probes point at endpoints the daemon serves (/healthz,
  /readyz, taken from serve/http_server.cc) on the named port whose number is the
  configuration's http.listen port; the Services select the pods and target that port;
  the ServiceMonitor selects a Service, its port and /metrics, and makes the job
  "wijkpuls"; the state volume holds state.dir; the ConfigMap and Secret mounts hold the
  --config file and the key; the user matches the image; the PrometheusRule equals
  ops/prometheus/wijkpuls-alerts.yml;
- compose: Kafka in KRaft mode (no ZooKeeper) advertising the brokers the configuration
  names, the topics it creates are the configuration's, the ports, the key volume, the
  Prometheus target and rule file (checked with `promtool check config`), the Grafana
  provisioning paths and the data source URL;
- `wijkpuls check-config` accepts every configuration the deployments use (the container
  and the Kubernetes one), with /etc/wijkpuls/ paths pointed at the repository's config/.
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import opslib  # noqa: E402
from opslib import Failure, log  # noqa: E402

SRC = opslib.SOURCE_DIR


def read(path):
    with open(os.path.join(SRC, path)) as f:
        return f.read()


def endpoints():
    """Literal paths the daemon serves."""
    paths = set(re.findall(r'\b\w+\.Get\("(/[^"()\[\]]*)"', read("serve/http_server.cc")))
    if not {"/healthz", "/readyz", "/metrics"} <= paths:
        raise Failure(f"serve/http_server.cc: expected /healthz, /readyz and /metrics among {sorted(paths)}")
    return paths


def listen_port(config):
    return int(config["http"]["listen"].rsplit(":", 1)[1])


def ops_port(config):
    """The port of http.ops_listen (/healthz, /readyz, /metrics), or None."""
    ops = config["http"].get("ops_listen")
    return int(ops.rsplit(":", 1)[1]) if ops else None


def probe_port(config):
    """Where probes and Prometheus go: the ops listener when there is one."""
    return ops_port(config) or listen_port(config)


def deb_contents(deb_dir):
    debs = glob.glob(os.path.join(deb_dir, "*.deb"))
    if len(debs) != 1:
        raise Failure(f"no .deb in {deb_dir}: the ops.package test makes it (ctest fixture ops_deb)")
    out = subprocess.run(["dpkg-deb", "-c", debs[0]], capture_output=True, text=True, check=True).stdout
    return {line.split(None, 5)[5].split(" -> ")[0][1:] for line in out.splitlines()}


def check_yaml_parses(problems):
    n = 0
    for pattern in ("deploy/**/*.yaml", "deploy/**/*.yml", "ops/**/*.yaml", "ops/**/*.yml"):
        for path in glob.glob(os.path.join(SRC, pattern), recursive=True):
            try:
                list(yaml.safe_load_all(open(path)))
                n += 1
            except yaml.YAMLError as e:
                problems.append(f"{os.path.relpath(path, SRC)}: {e}")
    log(f"yaml: {n} files parse")


def check_config(binary, name, text, tmp, problems):
    """`wijkpuls check-config` on a deployment configuration, its /etc/wijkpuls files taken
    from config/ and its key from a temporary file."""
    key = os.path.join(tmp, "pseudonymisation.key")
    with open(key, "w") as f:
        f.write(os.urandom(32).hex())
    config = yaml.safe_load(text)
    text = text.replace(config["pseudonymisation_key_file"], key)
    # Secrets the deployment mounts: a token and a self-signed certificate stand in.
    http = config.get("http", {})
    for k in ("bearer_token_file", "metrics_bearer_token_file"):
        if http.get(k):
            token = os.path.join(tmp, k)
            with open(token, "w") as f:
                f.write(os.urandom(24).hex())
            text = text.replace(http[k], token)
    if http.get("tls_cert_file"):
        cert, pkey = os.path.join(tmp, "tls.crt"), os.path.join(tmp, "tls.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-days", "1", "-subj", "/CN=wijkpuls", "-keyout", pkey, "-out", cert],
                       check=True, capture_output=True)
        text = text.replace(http["tls_cert_file"], cert).replace(http["tls_key_file"], pkey)
    text = text.replace("/etc/wijkpuls/register/", os.path.join(SRC, "deploy/k8s") + "/")
    text = text.replace("/etc/wijkpuls/", os.path.join(SRC, "config") + "/")
    path = os.path.join(tmp, re.sub(r"[^a-z0-9]+", "-", name) + ".yaml")
    with open(path, "w") as f:
        f.write(text)
    r = subprocess.run([binary, "check-config", path], capture_output=True, text=True)
    if r.returncode != 0:
        problems.append(f"{name}: wijkpuls check-config refuses it: {r.stdout}{r.stderr}")


def etc_paths(config):
    return [config["methodology"], config["districts"]]


# --- Dockerfile ------------------------------------------------------------------------------
def parse_dockerfile(text):
    text = re.sub(r"\\\n", " ", text)
    stages, cur = [], None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        word = word.upper()
        if word == "FROM":
            cur = {"from": rest.split()[0], "lines": []}
            stages.append(cur)
        elif cur is not None:
            cur["lines"].append((word, rest.strip()))
    return stages


def check_dockerfile(deb, ends, problems):
    stages = parse_dockerfile(read("deploy/docker/Dockerfile"))
    if len(stages) < 2:
        problems.append("Dockerfile: expected a multi-stage build")
    for s in stages:
        if not re.fullmatch(r"debian:bookworm(-slim)?(@sha256:[0-9a-f]+)?", s["from"]):
            problems.append(f"Dockerfile: FROM {s['from']} is not Debian bookworm")
    final = stages[-1]
    lines = final["lines"]
    get = lambda w: [r for k, r in lines if k == w]  # noqa: E731
    users = get("USER")
    uid = None
    if not users or not re.fullmatch(r"[1-9][0-9]*(:[1-9][0-9]*)?", users[-1]):
        problems.append(f"Dockerfile: the final stage must end as a numeric non-root USER, not {users}")
    else:
        uid = int(users[-1].split(":")[0])
    runs = " ".join(get("RUN"))
    if "/tmp/wijkpuls.deb" not in runs or not any("--from=build" in c and ".deb" in c for c in get("COPY")):
        problems.append("Dockerfile: the final stage must install the .deb built in the build stage")
    build_runs = " ".join(r for k, r in stages[0]["lines"] if k == "RUN")
    if "cpack" not in build_runs:
        problems.append("Dockerfile: the build stage must make the .deb with cpack")
    setup = read("scripts/setup.sh")
    base = re.search(r"packages=\(\s*(.*?)\)", setup, re.S).group(1).split()
    for pkg in base:
        if pkg.endswith("-dev") and pkg not in ("libgtest-dev", "libgmock-dev", "libbenchmark-dev") \
                and pkg not in build_runs:
            problems.append(f"Dockerfile: the build stage lacks {pkg} (scripts/setup.sh)")
    entry = get("ENTRYPOINT")
    cmd = get("CMD")
    entry = yaml.safe_load(entry[-1]) if entry else []
    cmd = yaml.safe_load(cmd[-1]) if cmd else []
    if not entry or entry[0] not in deb:
        problems.append(f"Dockerfile: ENTRYPOINT {entry} is not a file of the .deb")
    copies = [r.split() for r in get("COPY") if not r.startswith("--from")]
    for c in copies:
        for source in c[:-1]:
            if not os.path.exists(os.path.join(SRC, source)):
                problems.append(f"Dockerfile: COPY source {source} does not exist")
    dest = {c[-1]: c[0] for c in copies}
    config_path = cmd[cmd.index("--config") + 1] if "--config" in cmd else None
    if config_path not in dest:
        problems.append(f"Dockerfile: CMD's --config {config_path} is not copied into the image")
        return None, uid, None
    config_text = read(dest[config_path])
    config = yaml.safe_load(config_text)
    for p in etc_paths(config):
        if p not in deb:
            problems.append(f"{dest[config_path]}: {p} is not in the .deb")
    port = listen_port(config)
    for key in ("listen", "ops_listen"):
        if key in config["http"] and config["http"][key].split(":")[0] not in ("0.0.0.0", "", "[::]"):
            problems.append(f"{dest[config_path]}: a container must listen on all interfaces (http.{key})")
    want = sorted(str(p) for p in {port, ops_port(config)} if p)
    exposed = sorted(p.split("/")[0] for e in get("EXPOSE") for p in e.split())
    if want != exposed:
        problems.append(f"Dockerfile: EXPOSE {exposed} differs from the configured ports {want}")
    health = " ".join(get("HEALTHCHECK"))
    m = re.search(r"/dev/tcp/127\.0\.0\.1/(\d+).*GET (/\S*) ", health)
    if not m or int(m.group(1)) != probe_port(config) or m.group(2) not in ends:
        problems.append(f"Dockerfile: HEALTHCHECK must GET an endpoint on port {probe_port(config)}: {health}")
    volumes = " ".join(get("VOLUME"))
    if not any(config["state"]["dir"].startswith(v.strip('[]" ')) for v in re.findall(r'"([^"]+)"', volumes) or volumes.split()):
        problems.append(f"Dockerfile: state.dir {config['state']['dir']} is not on a VOLUME ({volumes})")
    log(f"Dockerfile: {len(stages)} stages, user {uid}, config {config_path}, port {port}")
    return (config_path, config_text), uid, config


# --- Kubernetes ------------------------------------------------------------------------------
def k8s_docs():
    docs = {}
    kust = yaml.safe_load(read("deploy/k8s/kustomization.yaml"))
    files = sorted(os.path.basename(p) for p in glob.glob(os.path.join(SRC, "deploy/k8s/*.yaml")))
    listed = kust.get("resources", [])
    for f in set(files) - set(listed) - {"kustomization.yaml"}:
        raise Failure(f"deploy/k8s/{f} is not listed in kustomization.yaml")
    for f in listed:
        for d in yaml.safe_load_all(read(f"deploy/k8s/{f}")):
            if d:
                docs.setdefault(d["kind"], []).append(d)
    # ConfigMaps that kustomize generates from files, as it would.
    for g in kust.get("configMapGenerator", []):
        data = {os.path.basename(f): read(f"deploy/k8s/{f}") for f in g.get("files", [])}
        if not g.get("options", {}).get("disableNameSuffixHash"):
            raise Failure(f"kustomization.yaml: ConfigMap {g['name']} gets a name hash: the pods would be "
                          "replaced on every change instead of reloading it")
        docs.setdefault("ConfigMap", []).append({"kind": "ConfigMap", "metadata": {"name": g["name"]}, "data": data})
    return docs


def subset(a, b):
    return all(b.get(k) == v for k, v in a.items())


def check_k8s(ends, deb, image_uid, binary, tmp, problems):
    docs = k8s_docs()
    for kind in ("StatefulSet", "Service", "ConfigMap", "ServiceMonitor", "PrometheusRule", "PodDisruptionBudget"):
        if kind not in docs:
            problems.append(f"deploy/k8s: no {kind}")
            return
    sts = docs["StatefulSet"][0]
    spec, pod = sts["spec"], sts["spec"]["template"]["spec"]
    labels = sts["spec"]["template"]["metadata"]["labels"]
    if not isinstance(spec.get("replicas"), int) or spec["replicas"] < 2:
        problems.append("StatefulSet: replicas must be 2 or more (the instances share the group: no blind period "
                        "when one dies)")
    if not subset(spec["selector"]["matchLabels"], labels):
        problems.append("StatefulSet: selector does not match the pod labels")
    pdb = docs["PodDisruptionBudget"][0]["spec"]
    if pdb.get("maxUnavailable") != 1 or not subset(pdb["selector"]["matchLabels"], labels):
        problems.append("PodDisruptionBudget: maxUnavailable 1 over the StatefulSet's pods (one restores at a time)")
    c = pod["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
    mounts = {m["name"]: m["mountPath"] for m in c.get("volumeMounts", [])}
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    args = c.get("args", [])
    cfg_path = args[args.index("--config") + 1] if "--config" in args else ""
    cm_vol = next((n for n, v in volumes.items() if "configMap" in v), None)
    cm = next((d for d in docs["ConfigMap"] if cm_vol and d["metadata"]["name"] == volumes[cm_vol]["configMap"]["name"]), None)
    if not cm or os.path.dirname(cfg_path) != mounts.get(cm_vol) or os.path.basename(cfg_path) not in cm["data"]:
        problems.append(f"StatefulSet: --config {cfg_path} is not a key of the mounted ConfigMap")
        return
    config_text = cm["data"][os.path.basename(cfg_path)]
    config = yaml.safe_load(config_text)
    check_config(binary, "deploy/k8s ConfigMap", config_text, tmp, problems)
    port = listen_port(config)
    probes = probe_port(config)
    daemon_ports = {port, probes}
    if ports.get("http") != port:
        problems.append(f"StatefulSet: container port http={ports.get('http')} but http.listen port is {port}")
    if ops_port(config) and ports.get("ops") != ops_port(config):
        problems.append(f"StatefulSet: container port ops={ports.get('ops')} but http.ops_listen port is {ops_port(config)}")
    for probe, want in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz"), ("startupProbe", None)):
        p = c.get(probe)
        if p is None:
            if want:
                problems.append(f"StatefulSet: no {probe}")
            continue
        g = p.get("httpGet", {})
        if g.get("path") not in ends or (want and g.get("path") != want):
            problems.append(f"StatefulSet: {probe} path {g.get('path')} (expected {want or 'an endpoint'})")
        if g.get("port") not in ports and g.get("port") != port:
            problems.append(f"StatefulSet: {probe} port {g.get('port')} is not a container port")
        if ports.get(g.get("port"), g.get("port")) != probes:
            problems.append(f"StatefulSet: {probe} port is not the daemon's probe port {probes}")
    # Reachable by the whole cluster: the API needs its token and TLS, and the ops port
    # (/metrics, open) must be fenced by a NetworkPolicy.
    h = config["http"]
    if not h.get("bearer_token_file") or not h.get("tls_cert_file"):
        problems.append("ConfigMap: the API listens on the cluster's network: set http.bearer_token_file and TLS")
    for key in ("bearer_token_file", "tls_cert_file", "tls_key_file"):
        if h.get(key) and not any(os.path.dirname(h[key]) == mounts.get(n) and "secret" in v
                                  for n, v in volumes.items()):
            problems.append(f"StatefulSet: http.{key} {h.get(key)} is not in a mounted Secret")
    if ops_port(config):
        fenced = [r for pol in docs.get("NetworkPolicy", []) for r in pol["spec"].get("ingress", [])
                  if any(p.get("port") in ("ops", ops_port(config)) for p in r.get("ports", []))]
        if not fenced or any(not f.get("from") or any(not src.get("namespaceSelector", {}).get("matchLabels")
                                                      for src in f["from"]) for f in fenced):
            problems.append("NetworkPolicy: the ops port must be admitted from a labelled namespace only")
    vct = {t["metadata"]["name"] for t in spec.get("volumeClaimTemplates", [])}
    state_mount = next((mounts[n] for n in vct if n in mounts), None)
    if not state_mount or not (config["state"]["dir"] + "/").startswith(state_mount.rstrip("/") + "/"):
        problems.append(f"StatefulSet: state.dir {config['state']['dir']} is not on a volumeClaimTemplate mount")
    key_vol = next((n for n, v in volumes.items() if "secret" in v), None)
    if not key_vol or mounts.get(key_vol) != os.path.dirname(config["pseudonymisation_key_file"]):
        problems.append("StatefulSet: the Secret is not mounted where pseudonymisation_key_file points")
    # Each of the methodology and the register is in the image, or a key of a mounted ConfigMap.
    mounted = {mounts[n]: next((d for d in docs["ConfigMap"] if d["metadata"]["name"] == v["configMap"]["name"]), None)
               for n, v in volumes.items() if "configMap" in v and n in mounts}
    for p in etc_paths(config):
        cmap = mounted.get(os.path.dirname(p))
        if cmap is not None:
            if os.path.basename(p) not in cmap.get("data", {}):
                problems.append(f"ConfigMap: {p} is not a key of the ConfigMap mounted at {os.path.dirname(p)}")
        elif p not in deb:
            problems.append(f"ConfigMap: {p} is not in the image (.deb)")
    register = config["districts"]
    if not any(os.path.dirname(register) == m for m in mounted):
        problems.append(f"StatefulSet: the register {register} is not mounted from a ConfigMap: a corrected "
                        "target cannot reach the pods without a new image (the SIGHUP reload of the runbook)")
    if read("deploy/k8s/districts.csv") != read("config/districts.csv"):
        problems.append("deploy/k8s/districts.csv differs from config/districts.csv (the default register)")
    sc = pod.get("securityContext", {})
    if not sc.get("runAsNonRoot") or sc.get("runAsUser") != image_uid:
        problems.append(f"StatefulSet: runAsNonRoot and runAsUser {sc.get('runAsUser')} = the image's user {image_uid}")
    if c.get("securityContext", {}).get("allowPrivilegeEscalation") is not False:
        problems.append("StatefulSet: allowPrivilegeEscalation must be false")
    image = c["image"]
    version = re.search(r"project\(wijkpuls VERSION ([0-9.]+)", read("CMakeLists.txt")).group(1)
    if image.rsplit(":", 1)[-1] != version:
        problems.append(f"StatefulSet: image {image} is not tagged with the version {version}")
    services = {s["metadata"]["name"]: s for s in docs["Service"]}
    if spec.get("serviceName") not in services or services[spec["serviceName"]]["spec"].get("clusterIP") != "None":
        problems.append("StatefulSet: serviceName must be a headless Service")
    for name, s in services.items():
        if not subset(s["spec"]["selector"], labels):
            problems.append(f"Service {name}: selector does not match the pods")
        for p in s["spec"]["ports"]:
            if ports.get(p["targetPort"], p["targetPort"]) not in daemon_ports:
                problems.append(f"Service {name}: targetPort {p['targetPort']} is not a port of the daemon")
    sm = docs["ServiceMonitor"][0]["spec"]
    chosen = [s for s in services.values() if subset(sm["selector"]["matchLabels"], s["metadata"]["labels"])]
    if len(chosen) != 1:
        problems.append(f"ServiceMonitor: selects {len(chosen)} Services, expected 1")
    else:
        svc = chosen[0]
        svc_ports = {p["name"]: p for p in svc["spec"]["ports"]}
        for e in sm["endpoints"]:
            if e["port"] not in svc_ports:
                problems.append(f"ServiceMonitor: port {e['port']} is not a port of Service {svc['metadata']['name']}")
            elif ports.get(svc_ports[e["port"]]["targetPort"], svc_ports[e["port"]]["targetPort"]) != probes:
                problems.append(f"ServiceMonitor: port {e['port']} is not the daemon's metrics port {probes}")
            if e.get("path", "/metrics") != "/metrics":
                problems.append(f"ServiceMonitor: path {e.get('path')} is not /metrics")
        if svc["metadata"]["labels"].get(sm.get("jobLabel")) != "wijkpuls":
            problems.append("ServiceMonitor: jobLabel must give the job \"wijkpuls\" (the alerts select job=\"wijkpuls\")")
        if not svc["spec"].get("publishNotReadyAddresses"):
            problems.append("ServiceMonitor: the scraped Service should publish not-ready pods (monitor an unready daemon)")
    rules = yaml.safe_load(read("ops/prometheus/wijkpuls-alerts.yml"))["groups"]
    if docs["PrometheusRule"][0]["spec"]["groups"] != rules:
        problems.append("deploy/k8s/prometheusrule.yaml differs from ops/prometheus/wijkpuls-alerts.yml")
    log(f"k8s: {sum(len(v) for v in docs.values())} objects, port {port}, config {cfg_path}")
    return image


# --- compose ---------------------------------------------------------------------------------
def mounts_of(service, compose_dir):
    """{target: source} of a compose service; bind sources made absolute."""
    out = {}
    for v in service.get("volumes", []):
        source, target = v.split(":")[:2]
        if source.startswith("."):
            source = os.path.normpath(os.path.join(compose_dir, source))
        out[target] = source
    return out


def check_compose(image_config, image, tmp, problems):
    compose_dir = os.path.join(SRC, "deploy/compose")
    c = yaml.safe_load(read("deploy/compose/compose.yaml"))
    s = c["services"]
    for name in ("kafka", "wijkpuls", "prometheus", "grafana"):
        if name not in s:
            problems.append(f"compose: no service {name}")
            return
    if any("zookeeper" in n or "zookeeper" in str(v.get("image")) for n, v in s.items()):
        problems.append("compose: Kafka must run in KRaft mode, without ZooKeeper")
    kenv = s["kafka"].get("environment", {})
    if not s["kafka"]["image"].startswith("apache/kafka:") or \
            set(str(kenv.get("KAFKA_PROCESS_ROLES", "")).split(",")) != {"broker", "controller"}:
        problems.append("compose: kafka must be apache/kafka with KAFKA_PROCESS_ROLES broker,controller (KRaft)")
    for name, svc in s.items():
        for target, source in mounts_of(svc, compose_dir).items():
            if source.startswith("/") and not os.path.exists(source):
                problems.append(f"compose {name}: bind mount source {source} does not exist")
    w = s["wijkpuls"]
    build = w.get("build", {})
    if os.path.normpath(os.path.join(compose_dir, build.get("context", "."))) != SRC or \
            not os.path.exists(os.path.join(SRC, build.get("dockerfile", ""))):
        problems.append("compose wijkpuls: build must use the repository root and deploy/docker/Dockerfile")
    if w.get("image") != image:
        problems.append(f"compose wijkpuls: image {w.get('image')} differs from Kubernetes' {image}")
    cmd = w.get("command", [])
    config_path, config_text = image_config
    if "--config" in cmd and cmd[cmd.index("--config") + 1] != config_path:
        problems.append(f"compose wijkpuls: --config {cmd[cmd.index('--config') + 1]} is not the image's {config_path}")
    config = yaml.safe_load(config_text)
    advertised = re.findall(r"PLAINTEXT://([^,]+)", str(kenv.get("KAFKA_ADVERTISED_LISTENERS", "")))
    if config["kafka"]["brokers"] not in advertised:
        problems.append(f"compose: the container config's brokers {config['kafka']['brokers']} are not kafka's advertised listener {advertised}")
    port = listen_port(config)
    if not any(str(p).endswith(f":{port}") for p in w.get("ports", [])):
        problems.append(f"compose wijkpuls: no port mapping to the daemon's port {port}")
    init = " ".join(s.get("kafka-init", {}).get("command", []))
    for topic in config["kafka"]["topics"].values():
        if f"--topic {topic} " not in init:
            problems.append(f"compose kafka-init: does not create {topic}")
    key_dir = os.path.dirname(config["pseudonymisation_key_file"])
    key_vol = next((src for tgt, src in mounts_of(w, compose_dir).items() if tgt == key_dir), None)
    keygen = s.get("keygen", {})
    if not key_vol or key_vol not in mounts_of(keygen, compose_dir).values() or \
            os.path.basename(config["pseudonymisation_key_file"]) not in " ".join(keygen.get("command", [])):
        problems.append("compose: the key volume of keygen must be mounted where pseudonymisation_key_file points")
    state_vol = any((config["state"]["dir"] + "/").startswith(t.rstrip("/") + "/") for t in mounts_of(w, compose_dir))
    if not state_vol:
        problems.append(f"compose wijkpuls: state.dir {config['state']['dir']} is not on a volume")
    # Prometheus: its configuration, target and rule file.
    pm = mounts_of(s["prometheus"], compose_dir)
    pconf_src = pm.get("/etc/prometheus/prometheus.yml")
    pconf = yaml.safe_load(open(pconf_src)) if pconf_src and os.path.exists(pconf_src) else {}
    targets = [t for j in pconf.get("scrape_configs", []) if j["job_name"] == "wijkpuls"
               for sc in j.get("static_configs", []) for t in sc["targets"]]
    if targets != [f"wijkpuls:{probe_port(config)}"]:
        problems.append(f"compose prometheus.yml: the wijkpuls job must scrape wijkpuls:{probe_port(config)}, not {targets}")
    pdir = os.path.join(tmp, "prometheus")
    os.makedirs(pdir, exist_ok=True)
    for rule in pconf.get("rule_files", []):
        target = os.path.join("/etc/prometheus", rule)
        if target not in pm:
            problems.append(f"compose prometheus: rule file {rule} is not mounted at {target}")
            continue
        shutil.copy(pm[target], os.path.join(pdir, rule))
    if pconf_src:
        shutil.copy(pconf_src, os.path.join(pdir, "prometheus.yml"))
        r = subprocess.run(["promtool", "check", "config", os.path.join(pdir, "prometheus.yml")],
                           capture_output=True, text=True)
        if r.returncode != 0:
            problems.append(f"compose prometheus.yml: promtool check config: {r.stdout}{r.stderr}")
    pport = next((a.rsplit(":", 1)[1] for a in s["prometheus"].get("command", []) if a.startswith("--web.listen-address")), "9090")
    # Grafana: provisioning files, the dashboards folder, the data source URL.
    gm = mounts_of(s["grafana"], compose_dir)
    prov = [src for tgt, src in gm.items() if tgt.startswith("/etc/grafana/provisioning/dashboards/")]
    dsp = [src for tgt, src in gm.items() if tgt.startswith("/etc/grafana/provisioning/datasources/")]
    if len(prov) != 1 or len(dsp) != 1:
        problems.append("compose grafana: mount one dashboard provider and one data source file")
        return
    path = yaml.safe_load(open(prov[0]))["providers"][0]["options"]["path"]
    if os.path.normpath(gm.get(path, "")) != os.path.join(SRC, "ops/grafana/dashboards"):
        problems.append(f"compose grafana: ops/grafana/dashboards must be mounted at the provider's path {path}")
    home = s["grafana"].get("environment", {}).get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
    if home and not (home.startswith(path + "/") and os.path.exists(os.path.join(SRC, "ops/grafana/dashboards", os.path.basename(home)))):
        problems.append(f"compose grafana: home dashboard {home} is not a provisioned dashboard")
    url = yaml.safe_load(open(dsp[0]))["datasources"][0]["url"]
    if url != f"http://prometheus:{pport}":
        problems.append(f"ops/grafana/provisioning/datasource.yaml: url {url} is not compose's http://prometheus:{pport}")
    log(f"compose: {len(s)} services")


def run():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--deb-dir", required=True)
    ap.add_argument("--tmp", default="")
    args = ap.parse_args()
    problems = []
    ends = endpoints()
    deb = deb_contents(args.deb_dir)
    check_yaml_parses(problems)
    tmp = opslib.make_temp_dir(args.tmp, "ops-deploy-")
    try:
        image_config, uid, _ = check_dockerfile(deb, ends, problems)
        if image_config:
            check_config(args.binary, "deploy/docker/wijkpuls.yaml", image_config[1], tmp, problems)
        image = check_k8s(ends, deb, uid, args.binary, tmp, problems)
        if image_config:
            check_compose(image_config, image, tmp, problems)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    readme = read("deploy/README.md")
    if "Docker" not in readme or "cannot" not in readme:
        problems.append("deploy/README.md must say what cannot be run or checked here (Docker)")
    if problems:
        raise Failure(f"{len(problems)} problems:\n  " + "\n  ".join(problems))


if __name__ == "__main__":
    opslib.main_wrapper(run)
