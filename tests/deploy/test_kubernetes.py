"""The Kubernetes manifests (deploy/k8s/), checked statically: every object is valid against
the Kubernetes API's schemas (``kubernetes-validate`` bundles them: nothing is fetched), the
kustomization lists every manifest, no Secret carries a value and every reference to one
names a documented key, the objects refer to each other consistently, and the workloads
run what deploy/compose.yaml runs (images, commands, ports, settings, health checks), with
the API's probes on routes the API has.

No cluster is needed. ``kubectl kustomize`` (an optional tool: no registry this project
installs from ships it with Kustomize) builds the kustomization where it is installed.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.deploy.test_bundle import CREDENTIAL_SHAPES, SECRET_KEY
from tests.support.prerequisites import OPTIONAL, find

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
COMPOSE = REPO / "deploy" / "compose.yaml"
DOCKERFILE = REPO / "deploy" / "docker" / "Dockerfile"
HAPROXY = REPO / "deploy" / "haproxy" / "haproxy.cfg"
DOCS = REPO / "docs" / "deployment.md"
KUSTOMIZATION = K8S / "kustomization.yaml"
SECRET_EXAMPLE = K8S / "secret.example.yaml"
SECRET_NAME = "nba-mlops"
#: The oldest Kubernetes release the manifests are meant for, and the newest schemas known.
VERSIONS = ("1.29.0", str(kubernetes_validate.utils.latest_version()))
#: Deployment in deploy/k8s -> the compose service it stands for.
WORKLOADS = {
    "api": "api",
    "redis": "redis",
    "dagster-webserver": "dagster-webserver",
    "dagster-daemon": "dagster-daemon",
    "dagster-worker": "dagster-worker",
}
#: Settings of compose the cluster sets differently, and why.
NOT_IN_KUBERNETES = {
    # The API scores in-process: no prediction service in the cluster.
    ("api", "PREDICTION_SERVICE_URL"),
}
#: Settings whose value differs on purpose (the cluster's own network).
OWN_VALUES = {"NBA_MLOPS_SERVING__TRUSTED_PROXIES"}
#: Optional settings only the cluster offers (an MLflow server behind a login).
ONLY_IN_KUBERNETES = {"MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"}
DEFAULTED = re.compile(r"\$\{([A-Z0-9_]+)(?::?-([^}]*))?\}")


def _documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def _manifest_files() -> list[Path]:
    return sorted(p for p in K8S.glob("*.yaml") if p != KUSTOMIZATION)


@pytest.fixture(scope="module")
def kustomization() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(KUSTOMIZATION.read_text(encoding="utf-8"))
    return loaded


def _render(kustomization: dict[str, Any]) -> list[dict[str, Any]]:
    """What ``kubectl apply -k`` applies, for the parts of Kustomize this one uses: its
    resources, in its namespace, with its image tags and labels."""
    tags = {image["name"]: image for image in kustomization.get("images", [])}
    labels: dict[str, str] = {}
    for entry in kustomization.get("labels", []):
        labels.update(entry["pairs"])
    objects = []
    for name in kustomization["resources"]:
        for doc in _documents(K8S / name):
            if doc["kind"] != "Namespace":
                doc["metadata"]["namespace"] = kustomization["namespace"]
            doc["metadata"].setdefault("labels", {}).update(labels)
            for container in _containers(doc):
                image = tags.get(container["image"])
                if image is not None:
                    container["image"] = (
                        f"{image.get('newName', container['image'])}:{image['newTag']}"
                    )
            objects.append(doc)
    return objects


@pytest.fixture(scope="module")
def objects(kustomization: dict[str, Any]) -> list[dict[str, Any]]:
    return _render(kustomization)


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    if doc["kind"] != "Deployment":
        return []
    containers: list[dict[str, Any]] = doc["spec"]["template"]["spec"]["containers"]
    return containers


def _find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    for doc in objects:
        if doc["kind"] == kind and doc["metadata"]["name"] == name:
            return doc
    raise AssertionError(f"no {kind} {name} in deploy/k8s")


def _of_kind(objects: list[dict[str, Any]], kind: str) -> Iterator[dict[str, Any]]:
    return (doc for doc in objects if doc["kind"] == kind)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    services: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]
    return services


def _expand(value: str) -> str:
    """A compose value with each ``${VAR:-default}`` replaced by its default."""
    return DEFAULTED.sub(lambda match: match.group(2) or "", str(value))


# --- validity ------------------------------------------------------------------------------
@pytest.mark.parametrize("version", VERSIONS)
def test_every_manifest_is_valid_for_the_kubernetes_api(version: str) -> None:
    checked = 0
    for path in _manifest_files():
        for doc in _documents(path):
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                name = f"{doc.get('kind')} {doc.get('metadata', {}).get('name')}"
                pytest.fail(f"{path.name}: {name} is invalid for Kubernetes {version}: {error}")
            checked += 1
    assert checked >= 15


def test_the_schemas_refuse_a_broken_manifest() -> None:
    """The validation above can fail: strict schemas refuse a misspelt field and a
    mistyped value."""
    deployment = _documents(K8S / "api.yaml")[0]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    misspelt = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(misspelt, VERSIONS[0], strict=True)
    container["ports"] = [{"containerPort": "eight thousand"}]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, VERSIONS[0], strict=True)


def test_the_kustomization_lists_every_manifest_but_the_secret_example(
    kustomization: dict[str, Any], objects: list[dict[str, Any]]
) -> None:
    listed = set(kustomization["resources"])
    assert listed == {p.name for p in _manifest_files()} - {SECRET_EXAMPLE.name}
    assert _find(objects, "Namespace", kustomization["namespace"])
    used = {c["image"].rsplit(":", 1)[0] for doc in objects for c in _containers(doc)}
    assert {image["name"] for image in kustomization["images"]} <= used


def test_kubectl_builds_the_kustomization(objects: list[dict[str, Any]]) -> None:
    kubectl = find("kubectl")
    if kubectl is None:
        pytest.skip(f"{OPTIONAL} kubectl (not installed: Kustomize's build is not checked)")
    built = subprocess.run(
        [kubectl, "kustomize", str(K8S)], capture_output=True, text=True, timeout=120
    )
    assert built.returncode == 0, built.stderr
    docs = [doc for doc in yaml.safe_load_all(built.stdout) if doc]

    def names(items: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
        return {
            (d["kind"], d["metadata"]["name"], d["metadata"].get("namespace", "")) for d in items
        }

    assert names(docs) == names(objects)
    images = {c["image"] for doc in docs for c in _containers(doc)}
    assert images == {c["image"] for doc in objects for c in _containers(doc)}


# --- secrets -------------------------------------------------------------------------------
def test_no_secret_carries_a_value() -> None:
    for path in _manifest_files():
        text = path.read_text(encoding="utf-8")
        for shape in CREDENTIAL_SHAPES:
            assert not shape.search(text), f"{path.name} holds something like a credential"
        for doc in _documents(path):
            if doc["kind"] == "Secret":
                values = {**doc.get("data", {}), **doc.get("stringData", {})}
                filled = [key for key, value in values.items() if value]
                assert not filled, f"{path.name}: the Secret carries values for {filled}"
            if doc["kind"] == "ConfigMap":
                for key, value in doc.get("data", {}).items():
                    secret_like = SECRET_KEY.search(key) and not key.endswith("_FILE")
                    assert not (secret_like and value), f"{path.name}: {key} in a ConfigMap"
            for container in _containers(doc):
                for variable in container.get("env", []):
                    if SECRET_KEY.search(variable["name"]):
                        assert "value" not in variable, f"{variable['name']} written down"
                        assert "secretKeyRef" in variable["valueFrom"], variable["name"]


def _secret_references(objects: list[dict[str, Any]]) -> set[tuple[str, str]]:
    references = set()
    for doc in objects:
        for container in _containers(doc):
            for variable in container.get("env", []):
                ref = variable.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    references.add((ref["name"], ref["key"]))
            for source in container.get("envFrom", []):
                assert "secretRef" not in source, "every secret variable is named one by one"
        for volume in _pod(doc).get("volumes", []):
            secret = volume.get("secret")
            if secret:
                assert secret.get("items"), "a Secret volume names the keys it mounts"
                references |= {(secret["secretName"], item["key"]) for item in secret["items"]}
    return references


def _pod(doc: dict[str, Any]) -> dict[str, Any]:
    if doc["kind"] != "Deployment":
        return {}
    pod: dict[str, Any] = doc["spec"]["template"]["spec"]
    return pod


def _kubernetes_section() -> str:
    text = DOCS.read_text(encoding="utf-8")
    match = re.search(r"^## Kubernetes.*?(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    assert match, "docs/deployment.md has no Kubernetes section"
    return match.group(0)


def test_every_secret_reference_names_a_documented_key(objects: list[dict[str, Any]]) -> None:
    (example,) = _documents(SECRET_EXAMPLE)
    keys = set(example["stringData"])
    references = _secret_references(objects)
    assert example["metadata"]["name"] == SECRET_NAME
    assert {name for name, _ in references} == {SECRET_NAME}
    assert {key for _, key in references} == keys
    assert not any(doc["kind"] == "Secret" for doc in objects), "no Secret is applied"
    section = _kubernetes_section()
    undocumented = [key for key in keys if f"`{key}`" not in section]
    assert not undocumented, f"docs/deployment.md, Kubernetes, does not say what {undocumented} is"


# --- references between the objects --------------------------------------------------------
def test_the_objects_refer_to_each_other(objects: list[dict[str, Any]]) -> None:
    config_maps = {d["metadata"]["name"]: d.get("data", {}) for d in _of_kind(objects, "ConfigMap")}
    claims = {d["metadata"]["name"] for d in _of_kind(objects, "PersistentVolumeClaim")}
    deployments = list(_of_kind(objects, "Deployment"))
    for doc in deployments:
        name = doc["metadata"]["name"]
        selector = doc["spec"]["selector"]["matchLabels"]
        labels = doc["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items(), name
        volumes = {volume["name"]: volume for volume in _pod(doc).get("volumes", [])}
        for volume in volumes.values():
            if "persistentVolumeClaim" in volume:
                assert volume["persistentVolumeClaim"]["claimName"] in claims, name
        for container in _containers(doc):
            for source in container.get("envFrom", []):
                assert source["configMapRef"]["name"] in config_maps, name
            for mount in container.get("volumeMounts", []):
                assert mount["name"] in volumes, (name, mount)
    for service in _of_kind(objects, "Service"):
        if service["spec"].get("type") == "ExternalName":
            continue
        matching = [
            d
            for d in deployments
            if service["spec"]["selector"].items()
            <= d["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert len(matching) == 1, service["metadata"]["name"]
        ports = {
            p.get("name"): p["containerPort"]
            for c in _containers(matching[0])
            for p in c.get("ports", [])
        }
        for port in service["spec"]["ports"]:
            target = port["targetPort"]
            assert target in ports or target in ports.values(), service["metadata"]["name"]
    for ingress in _of_kind(objects, "Ingress"):
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                service = _find(objects, "Service", backend["name"])
                names = {p.get("name") for p in service["spec"]["ports"]}
                assert backend["port"].get("name") in names, backend
    for policy in _of_kind(objects, "NetworkPolicy"):
        selected = policy["spec"]["podSelector"]["matchLabels"]
        assert any(
            selected.items() <= d["spec"]["template"]["metadata"]["labels"].items()
            for d in deployments
        )


# --- agreement with compose and the API ----------------------------------------------------
def _environment(container: dict[str, Any], objects: list[dict[str, Any]]) -> dict[str, Any]:
    """The container's variables: a ConfigMap's value, or ``None`` for one from a Secret."""
    values: dict[str, Any] = {}
    for source in container.get("envFrom", []):
        values.update(_find(objects, "ConfigMap", source["configMapRef"]["name"])["data"])
    for variable in container.get("env", []):
        values[variable["name"]] = variable.get("value")
    return values


def _dockerfile_cmd(target: str) -> list[str]:
    stage = None
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        if line.startswith("FROM "):
            stage = line.split()[-1]
        elif stage == target and line.startswith("CMD "):
            command: list[str] = yaml.safe_load(line[4:])
            return command
    raise AssertionError(f"no CMD in the Dockerfile's {target} stage")


@pytest.mark.parametrize("deployment", sorted(WORKLOADS))
def test_each_workload_runs_what_compose_runs(
    deployment: str, objects: list[dict[str, Any]], compose: dict[str, Any]
) -> None:
    service = compose[WORKLOADS[deployment]]
    (container,) = _containers(_find(objects, "Deployment", deployment))
    assert container["image"] == _expand(service["image"])
    command = service.get("command")
    if command is None:  # the image's own
        command = _dockerfile_cmd(service["build"]["target"])
    assert container["command"] == command
    expected = {key: _expand(value) for key, value in (service.get("environment") or {}).items()}
    expected = {
        key: value
        for key, value in expected.items()
        if (WORKLOADS[deployment], key) not in NOT_IN_KUBERNETES
    }
    actual = _environment(container, objects)
    assert set(actual) - ONLY_IN_KUBERNETES == set(expected)
    for key, value in actual.items():
        if value is None or key in OWN_VALUES:
            continue  # from the Secret, or the cluster's own
        assert value == expected[key], key
    # Compose's secret files are mounted at the same paths.
    mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
    for secret in service.get("secrets", []):
        assert any(f"/run/secrets/{secret}".startswith(path) for path in mounts), secret


def _port_in(command: list[str]) -> int | None:
    return int(command[command.index("--port") + 1]) if "--port" in command else None


def test_the_ports_agree_with_compose_and_the_images(
    objects: list[dict[str, Any]], compose: dict[str, Any]
) -> None:
    ports = {
        name: [
            p["containerPort"]
            for p in _containers(_find(objects, "Deployment", name))[0].get("ports", [])
        ]
        for name in WORKLOADS
    }
    assert ports["api"] == [int(compose["api"]["expose"][0])]
    assert ports["api"] == [_port_in(_dockerfile_cmd("api"))]
    webserver = compose["dagster-webserver"]
    assert ports["dagster-webserver"] == [_port_in(webserver["command"])]
    assert webserver["ports"][0].endswith(f":{ports['dagster-webserver'][0]}")
    assert ports["redis"] == [6379]
    assert compose["api"]["environment"]["REDIS_URL"].endswith(":6379/0")
    assert ports["dagster-daemon"] == ports["dagster-worker"] == []
    # The names the workloads reach the outside by are compose's service names and ports.
    external = {
        d["metadata"]["name"]: d["spec"]["ports"][0]["port"]
        for d in _of_kind(objects, "Service")
        if d["spec"].get("type") == "ExternalName"
    }
    assert external == {"postgres": 5432, "rabbitmq": 5672, "mlflow": 5000}
    settings = _find(objects, "ConfigMap", "nba-mlops")["data"]
    assert settings["MLFLOW_TRACKING_URI"] == f"http://mlflow:{external['mlflow']}"


def _api_get_paths() -> set[str]:
    from nba_mlops.api.app import create_app
    from nba_mlops.config import Settings

    schema = create_app(Settings()).openapi()
    return {path for path, methods in schema["paths"].items() if "get" in methods}


def _compose_probe_path(service: dict[str, Any]) -> str:
    match = re.search(
        r"http://127\.0\.0\.1:\d+(/[^'\"]*)", " ".join(service["healthcheck"]["test"])
    )
    assert match, service["healthcheck"]
    return match.group(1)


def test_the_api_is_probed_on_its_own_routes_as_compose_and_the_balancer_do(
    objects: list[dict[str, Any]],
    compose: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("NBA_MLOPS_HOME", str(tmp_path))
    deployment = _find(objects, "Deployment", "api")
    assert deployment["spec"]["replicas"] >= 2
    (container,) = _containers(deployment)
    readiness = container["readinessProbe"]["httpGet"]
    liveness = container["livenessProbe"]["httpGet"]
    startup = container["startupProbe"]["httpGet"]
    assert (readiness["path"], liveness["path"], startup["path"]) == (
        "/ready",
        "/health",
        "/health",
    )
    assert {"/ready", "/health"} <= _api_get_paths()
    # Compose restarts on /health; HAProxy sends traffic to a replica once /ready is 200.
    assert liveness["path"] == _compose_probe_path(compose["api"])
    assert f"uri {readiness['path']} " in HAPROXY.read_text(encoding="utf-8")
    port_names = {p["name"] for p in container["ports"]}
    assert {readiness["port"], liveness["port"], startup["port"]} <= port_names
    # Replicas stay available through rollouts and node drains.
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    budget = _find(objects, "PodDisruptionBudget", "api")
    assert (
        budget["spec"]["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
    )
    assert budget["spec"]["minAvailable"] < deployment["spec"]["replicas"]


def test_the_other_workloads_are_probed_as_compose_probes_them(
    objects: list[dict[str, Any]], compose: dict[str, Any]
) -> None:
    (webserver,) = _containers(_find(objects, "Deployment", "dagster-webserver"))
    path = _compose_probe_path(compose["dagster-webserver"])
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert webserver[probe]["httpGet"]["path"] == path
    for name in ("dagster-daemon", "redis", "dagster-worker"):
        (container,) = _containers(_find(objects, "Deployment", name))
        test = compose[name]["healthcheck"]["test"]
        command = container["livenessProbe"]["exec"]["command"]
        if test[0] == "CMD-SHELL":  # compose's $$ is a literal $
            assert command[:2] == ["sh", "-c"]
            assert shlex.split(command[2]) == shlex.split(test[1].replace("$$", "$"))
        else:
            assert command == test[1:], name
    # A worker stops after its current step, however long: compose's grace period.
    worker = _pod(_find(objects, "Deployment", "dagster-worker"))
    grace = compose["dagster-worker"]["stop_grace_period"]
    assert grace == "1h" and worker["terminationGracePeriodSeconds"] == 3600
    # One daemon at a time: never two schedulers, even during a rollout.
    daemon = _find(objects, "Deployment", "dagster-daemon")
    assert daemon["spec"]["replicas"] == 1 and daemon["spec"]["strategy"]["type"] == "Recreate"


def test_the_project_images_run_as_their_own_non_root_user(objects: list[dict[str, Any]]) -> None:
    users = re.findall(r"^USER (\d+):(\d+)$", DOCKERFILE.read_text(encoding="utf-8"), re.M)
    (uid, gid), *_ = set(users)
    for doc in _of_kind(objects, "Deployment"):
        pod = _pod(doc)
        assert pod["securityContext"]["runAsNonRoot"] is True
        for container in pod["containers"]:
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
            assert "memory" in container["resources"]["limits"]
            if container["image"].startswith("nba-mlops-"):
                assert pod["securityContext"]["runAsUser"] == int(uid)
                assert pod["securityContext"]["runAsGroup"] == int(gid)
