#!/usr/bin/env python3
"""The Debian package: `cpack -G DEB` in the build directory, then its control data and
contents with `dpkg-deb -I/-f/-c/-e/-x`:

- name, version (the project's), architecture (dpkg's), maintainer, description;
- Depends names the Debian package of every shared library the built binary needs (found
  with ldd and `dpkg -S`), plus passwd (useradd in postinst) and tzdata (the
  methodology's time zone);
- postinst/prerm/postrm are executable, valid sh; postinst creates the user `wijkpuls`;
  conffiles lists the three files under /etc/wijkpuls;
- contents: /usr/bin/wijkpuls (executable), the systemd unit, the default configuration
  and the register under /etc/wijkpuls, all owned by root, and equal to their sources;
- the packaged binary runs (`--version`), and `wijkpuls check-config` accepts the packaged
  configuration (its key path pointed at a temporary key: the real one is made by postinst);
- Debian's own files: the copyright, the changelog (its version the project's) and the manual
  page wijkpuls(8), which names every command and option that `wijkpuls --help` lists;
- lintian finds neither an error nor a warning.

The package stays in --out for the ops.deploy test (a ctest fixture).
"""
import argparse
import filecmp
import glob
import gzip
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import opslib  # noqa: E402
from opslib import Failure, log  # noqa: E402

SRC = opslib.SOURCE_DIR
REQUIRED_FILES = {
    "./usr/bin/wijkpuls": None,
    "./lib/systemd/system/wijkpuls.service": "deploy/systemd/wijkpuls.service",
    "./etc/wijkpuls/wijkpuls.yaml": "config/wijkpuls.yaml",
    "./etc/wijkpuls/methodology.yaml": "config/methodology.yaml",
    "./etc/wijkpuls/districts.csv": "config/districts.csv",
    # The alert rules' runbook_url points here until a deployment renders another base
    # (ops/prometheus/runbook-base.sh, packaged beside the rules).
    "./usr/share/doc/wijkpuls/runbook.md": "ops/runbook.md",
    "./usr/share/wijkpuls/prometheus/wijkpuls-alerts.yml": "ops/prometheus/wijkpuls-alerts.yml",
    "./usr/share/wijkpuls/prometheus/runbook-base.sh": "ops/prometheus/runbook-base.sh",
}


def sh(*argv, **kw):
    r = subprocess.run(list(argv), capture_output=True, text=True, timeout=kw.pop("timeout", 300), **kw)
    if r.returncode != 0:
        raise Failure(f"{' '.join(argv)} exited {r.returncode}:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    return r.stdout


def project_version():
    m = re.search(r"project\(wijkpuls VERSION ([0-9.]+)", open(os.path.join(SRC, "CMakeLists.txt")).read())
    return m.group(1)


def library_packages(binary):
    """{package: names it is known by (itself and what it Provides)} for the Debian packages
    that own the shared libraries `binary` needs directly (readelf NEEDED, located by ldd)."""
    needed = set(re.findall(r"\(NEEDED\).*\[(.+)\]", sh("readelf", "-d", binary)))
    where = dict(re.findall(r"^\s*(\S+)\s*=>\s*(/\S+)", sh("ldd", binary), re.M))
    pkgs = {}
    for lib in sorted(needed):
        if lib not in where:
            raise Failure(f"ldd does not locate {lib}")
        path = os.path.realpath(where[lib])
        for c in (where[lib], path, path.replace("/usr/lib/", "/lib/", 1), path.replace("/lib/", "/usr/lib/", 1)):
            r = subprocess.run(["dpkg", "-S", c], capture_output=True, text=True)
            if r.returncode == 0:
                pkg = r.stdout.split(":")[0].strip()
                provides = sh("dpkg-query", "-W", "-f=${Provides}", pkg)
                pkgs[pkg] = {pkg} | {re.split(r"[\s(]", p.strip())[0] for p in provides.split(",") if p.strip()}
                break
        else:
            raise Failure(f"no Debian package owns {path} (a library built by hand?)")
    return pkgs


def build_package(cpack, build_dir, out):
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    config = os.path.join(build_dir, "CPackConfig.cmake")
    if not os.path.exists(config):
        raise Failure(f"{config} missing: deploy/Packaging.cmake was not included")
    sh(cpack, "-G", "DEB", "-B", out, "--config", config, cwd=build_dir, timeout=600)
    debs = glob.glob(os.path.join(out, "*.deb"))
    if len(debs) != 1:
        raise Failure(f"cpack made {debs}, expected one .deb")
    return debs[0]


def check_control(deb, binary, problems, tmp):
    f = lambda field: sh("dpkg-deb", "-f", deb, field).strip()  # noqa: E731
    info = sh("dpkg-deb", "-I", deb)
    log(info)
    arch = sh("dpkg", "--print-architecture").strip()
    for field, want in (("Package", "wijkpuls"), ("Version", project_version()), ("Architecture", arch)):
        if f(field) != want:
            problems.append(f"control {field}: {f(field)!r}, expected {want!r}")
    for field in ("Maintainer", "Description", "Section"):
        if not f(field):
            problems.append(f"control {field} is empty")
    depends = {re.split(r"[\s(]", d.strip())[0] for d in f("Depends").split(",") if d.strip()}
    known = library_packages(binary)
    known.update({"passwd": {"passwd"}, "tzdata": {"tzdata"}})
    for pkg, names in sorted(known.items()):
        if not names & depends:
            problems.append(f"Depends lacks {pkg} (needed by the binary or the scripts): {sorted(depends)}")
    ctrl = os.path.join(tmp, "control")
    sh("dpkg-deb", "-e", deb, ctrl)
    for script in ("postinst", "prerm", "postrm"):
        path = os.path.join(ctrl, script)
        if not os.path.exists(path) or not os.access(path, os.X_OK):
            problems.append(f"control {script} missing or not executable")
            continue
        sh("sh", "-n", path)
    postinst = open(os.path.join(ctrl, "postinst")).read() if os.path.exists(os.path.join(ctrl, "postinst")) else ""
    if "useradd" not in postinst or "wijkpuls" not in postinst:
        problems.append("postinst does not create the user wijkpuls")
    conffiles = set(open(os.path.join(ctrl, "conffiles")).read().split()) if os.path.exists(os.path.join(ctrl, "conffiles")) else set()
    want = {"/etc/wijkpuls/wijkpuls.yaml", "/etc/wijkpuls/methodology.yaml", "/etc/wijkpuls/districts.csv"}
    if conffiles != want:
        problems.append(f"conffiles {sorted(conffiles)}, expected {sorted(want)}")


def check_contents(deb, binary, problems, tmp):
    listing = sh("dpkg-deb", "-c", deb)
    entries = {}
    for line in listing.splitlines():
        parts = line.split(None, 5)
        entries[parts[5].split(" -> ")[0]] = (parts[0], parts[1])
    for path in REQUIRED_FILES:
        if path not in entries:
            problems.append(f"the package lacks {path}")
    for path, (mode, owner) in entries.items():
        if owner != "root/root":
            problems.append(f"{path} is owned by {owner}, expected root/root")
        if path.startswith("./etc/") and mode[0] == "-" and mode != "-rw-r--r--":
            problems.append(f"{path} has mode {mode}")
    if entries.get("./usr/bin/wijkpuls", ("",))[0] != "-rwxr-xr-x":
        problems.append(f"/usr/bin/wijkpuls mode {entries.get('./usr/bin/wijkpuls')}, expected -rwxr-xr-x")
    root = os.path.join(tmp, "root")
    sh("dpkg-deb", "-x", deb, root)
    for path, source in REQUIRED_FILES.items():
        if source and not filecmp.cmp(os.path.join(root, path), os.path.join(SRC, source), shallow=False):
            problems.append(f"{path} in the package differs from {source}")
    packaged = os.path.join(root, "usr/bin/wijkpuls")
    version = sh(packaged, "--version").strip()
    if version != project_version():
        problems.append(f"the packaged binary says version {version!r}")
    # The packaged configuration, as installed, with the key postinst would make.
    etc = os.path.join(root, "etc/wijkpuls")
    key = os.path.join(tmp, "pseudonymisation.key")
    with open(key, "w") as k:
        k.write(os.urandom(32).hex())
    text = open(os.path.join(etc, "wijkpuls.yaml")).read()
    if "/etc/wijkpuls/pseudonymisation.key" not in text:
        problems.append("the packaged wijkpuls.yaml does not name /etc/wijkpuls/pseudonymisation.key (made by postinst)")
    with open(os.path.join(etc, "check.yaml"), "w") as c:
        c.write(text.replace("/etc/wijkpuls/pseudonymisation.key", key))
    r = subprocess.run([packaged, "check-config", os.path.join(etc, "check.yaml")], capture_output=True, text=True)
    if r.returncode != 0:
        problems.append(f"check-config refuses the packaged configuration: {r.stdout}{r.stderr}")
    log(f"package contents: {len(entries)} entries; packaged binary {version}; packaged config accepted")


def check_debian_docs(deb, binary, problems, tmp):
    root = os.path.join(tmp, "docs")
    sh("dpkg-deb", "-x", deb, root)
    doc = os.path.join(root, "usr/share/doc/wijkpuls")
    if not filecmp.cmp(os.path.join(doc, "copyright"), os.path.join(SRC, "deploy/debian/copyright"), shallow=False):
        problems.append("/usr/share/doc/wijkpuls/copyright differs from deploy/debian/copyright")
    changelog = gzip.open(os.path.join(doc, "changelog.gz"), "rt").read()
    first = changelog.splitlines()[0]
    if not first.startswith(f"wijkpuls ({project_version()})"):
        problems.append(f"the changelog's latest entry is {first!r}, not version {project_version()}")
    man = gzip.open(os.path.join(root, "usr/share/man/man8/wijkpuls.8.gz"), "rt").read()
    # Every command and option of the built binary's --help, as roff writes them (\- for -).
    listed = sh(binary, "--help")
    commands = re.findall(r"^  ([a-z][a-z-]+)\s{2,}", listed.split("Subcommands:")[1], re.M)
    if len(commands) < 8:
        problems.append(f"could not read the commands from --help: {commands}")
    for command in commands:
        if f"B {command}".replace("-", "\\-") not in man and f".B wijkpuls {command}".replace("-", "\\-") not in man:
            problems.append(f"wijkpuls(8) does not describe the command {command}")
        options = re.findall(r"^\s+(?:-\w,)?(--[a-z][a-z-]*)", sh(binary, command, "--help"), re.M)
        for option in options:
            if option != "--help" and option.replace("-", "\\-") not in man:
                problems.append(f"wijkpuls(8) does not name {command} {option}")
    r = subprocess.run(["man", "--warnings", "-E", "UTF-8", "-l", os.path.join(root, "usr/share/man/man8/wijkpuls.8.gz")],
                       capture_output=True, text=True)
    if r.returncode != 0 or r.stderr.strip():
        problems.append(f"man reports problems in wijkpuls(8): {r.stderr.strip()[:500]}")
    log(f"Debian files: copyright, changelog {first!r}, wijkpuls(8) names {len(commands)} commands and their options")


def check_lintian(deb, problems):
    if not shutil.which("lintian"):
        raise Failure("lintian is not installed (Debian package lintian; scripts/setup.sh --test)")
    r = subprocess.run(["lintian", "--tag-display-limit", "0", "--fail-on", "error,warning", deb],
                       capture_output=True, text=True, timeout=600)
    tags = [line for line in r.stdout.splitlines() if re.match(r"^[EWIXPO]: ", line)]
    log("lintian: " + ("; ".join(tags) if tags else "no tags"))
    bad = [t for t in tags if t[0] in "EW"]
    if r.returncode != 0 or bad:
        problems.append(f"lintian exited {r.returncode}: " + ("; ".join(bad) or r.stderr.strip()[-500:]))


def run():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True, help="the built binary (its libraries decide Depends)")
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--cpack", default="cpack")
    ap.add_argument("--out", required=True, help="where the .deb is left (for ops.deploy)")
    ap.add_argument("--tmp", default="")
    args = ap.parse_args()
    for tool in ("dpkg-deb", "dpkg-shlibdeps"):
        if not shutil.which(tool):
            raise Failure(f"{tool} is not installed (Debian package dpkg-dev; scripts/setup.sh --test)")
    deb = build_package(args.cpack, os.path.abspath(args.build_dir), os.path.abspath(args.out))
    log(f"built {deb}")
    tmp = opslib.make_temp_dir(args.tmp, "ops-package-")
    problems = []
    try:
        check_control(deb, args.binary, problems, tmp)
        check_contents(deb, args.binary, problems, tmp)
        check_debian_docs(deb, args.binary, problems, tmp)
        check_lintian(deb, problems)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if problems:
        raise Failure(f"{len(problems)} problems:\n  " + "\n  ".join(problems))


if __name__ == "__main__":
    opslib.main_wrapper(run)
