"""The deployment example (examples/deploy): the Kubernetes manifests are consistent with each
other and with the entry point, the Dockerfile copies what exists and starts the entry point,
and the entry point gives each pod its process id, the host file and the coordinator."""

import os
import pathlib
import shlex
import subprocess

import yaml

DEPLOY = pathlib.Path(__file__).resolve().parents[2] / "examples" / "deploy"
ROOT = DEPLOY.parents[1]


def manifests():
    documents = [d for d in yaml.safe_load_all((DEPLOY / "kubernetes.yaml").read_text()) if d]
    return {d["kind"]: d for d in documents}


def test_the_statefulset_its_headless_service_and_the_shared_volume_fit_together():
    kinds = manifests()
    assert set(kinds) == {"Service", "PersistentVolumeClaim", "StatefulSet"}
    service, claim, statefulset = kinds["Service"], kinds["PersistentVolumeClaim"], kinds["StatefulSet"]
    assert service["spec"]["clusterIP"] == "None", "pods need stable names: a headless service"
    spec = statefulset["spec"]
    assert spec["serviceName"] == service["metadata"]["name"]
    template = spec["template"]
    assert spec["selector"]["matchLabels"].items() <= template["metadata"]["labels"].items()
    assert service["spec"]["selector"].items() <= template["metadata"]["labels"].items()
    container = template["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert int(env["CLUSTER_PROCESSES"]) == spec["replicas"]
    assert env["CLUSTER_SERVICE"] == service["metadata"]["name"]
    # A fixed job id: a cluster started again after pod 0 died resumes the job.
    assert len(env["PYFLINK_RS_JOB_ID"]) == 32 and int(env["PYFLINK_RS_JOB_ID"], 16) >= 0
    container_ports = {p["containerPort"] for p in container["ports"]}
    assert {p["port"] for p in service["spec"]["ports"]} <= container_ports
    assert "ReadWriteMany" in claim["spec"]["accessModes"], "every process writes the same checkpoints"
    volume = template["spec"]["volumes"][0]
    assert volume["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    assert container["volumeMounts"][0]["mountPath"] == "/checkpoints"


def dockerfile_instructions():
    instructions = []
    for line in (DEPLOY / "Dockerfile").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            instructions.append((keyword, rest))
    return instructions


def test_the_dockerfile_copies_what_the_repository_has_and_starts_the_entry_point():
    instructions = dockerfile_instructions()
    known = {"FROM", "RUN", "COPY", "WORKDIR", "USER", "EXPOSE", "ENTRYPOINT", "CMD", "ENV", "ARG"}
    assert instructions[0][0] == "FROM"
    assert all(keyword in known for keyword, _ in instructions), instructions
    copies = [shlex.split(rest) for keyword, rest in instructions if keyword == "COPY"]
    for *sources, _ in copies:
        for source in sources:
            if not source.startswith("dist/"):
                assert (ROOT / source).exists(), f"COPY {source}: no such file in the repository"
    entrypoint = next(rest for keyword, rest in instructions if keyword == "ENTRYPOINT")
    assert any(target == yaml.safe_load(entrypoint)[0] for *_, target in copies)
    exposed = {int(p) for keyword, rest in instructions if keyword == "EXPOSE" for p in rest.split()}
    assert {2100, 2101, 8081} <= exposed


def test_the_entry_point_makes_each_pod_its_process_of_the_cluster(tmp_path):
    fake = tmp_path / "bin"
    fake.mkdir()
    # A stand-in for the command, to see what the entry point runs it with.
    (fake / "pyflink-rs").write_text(
        '#!/bin/sh\necho "args: $*"\necho "coordinator: $PYFLINK_RS_CLUSTER_COORDINATOR"\n')
    (fake / "pyflink-rs").chmod(0o755)
    hosts = tmp_path / "hosts"
    env = dict(os.environ, PATH=f"{fake}:{os.environ['PATH']}", HOSTNAME="pyflink-2", CLUSTER_PROCESSES="3",
               CLUSTER_SERVICE="pyflink", CLUSTER_THREADS="2", HOSTS_FILE=str(hosts))
    run = subprocess.run([str(DEPLOY / "entrypoint.sh"), "-py", "/opt/job/job.py"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert hosts.read_text().split() == [f"pyflink-{i}.pyflink:2101" for i in range(3)]
    assert f"args: run --hosts {hosts} --process-id 2 --threads 2 " in run.stdout
    assert run.stdout.rstrip().splitlines()[0].endswith("-py /opt/job/job.py")
    assert "coordinator: pyflink-0.pyflink:2100" in run.stdout
    missing = subprocess.run([str(DEPLOY / "entrypoint.sh")], env={"PATH": env["PATH"], "HOSTNAME": "pyflink-0"},
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode != 0 and "CLUSTER_PROCESSES" in missing.stderr
