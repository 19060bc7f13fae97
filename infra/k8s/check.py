"""Validates infra/k8s without a cluster: `python -m infra.k8s.check` (also run by tests/unit/test_k8s_manifests.py).

For every overlay it builds the documents (infra/k8s/kustomize.py) and checks
- core kinds against the Kubernetes OpenAPI schemas of K8S_VERSION shipped in the `kubernetes-validate`
  package, in strict mode (an unknown field is an error);
- custom resources against their CRDs' openAPIV3Schema vendored in infra/k8s/schemas/ (closed the same way:
  an unknown field is an error; metadata is checked as a core ObjectMeta);
- references: every ConfigMap/Secret (and key) a pod uses exists, Services and PodDisruptionBudgets select
  pods, ScaledObjects and HorizontalPodAutoscalers target existing Deployments, each hireloop service has a
  Deployment, a ScaledObject on its own queues (names from shared.bus.topology) and a grace period above
  SHUTDOWN_GRACE.
"""

from __future__ import annotations

import copy
import json
import sys
from functools import cache
from pathlib import Path

import jsonschema
import kubernetes_validate
import yaml
from referencing import Registry, Resource

from infra.k8s.kustomize import build

ROOT = Path(__file__).resolve().parent
K8S_VERSION = "1.30.0"
SCHEMAS = ROOT / "schemas"
CUSTOM = {
    ("keda.sh/v1alpha1", "ScaledObject"): "keda.sh_v1alpha1_scaledobject.yaml",
    ("keda.sh/v1alpha1", "TriggerAuthentication"): "keda.sh_v1alpha1_triggerauthentication.yaml",
    ("rabbitmq.com/v1beta1", "RabbitmqCluster"): "rabbitmq.com_v1beta1_rabbitmqcluster.yaml",
    ("rabbitmq.com/v1beta1", "User"): "rabbitmq.com_v1beta1_user.yaml",
    ("rabbitmq.com/v1beta1", "Permission"): "rabbitmq.com_v1beta1_permission.yaml",
    ("rabbitmq.com/v1beta1", "TopicPermission"): "rabbitmq.com_v1beta1_topicpermission.yaml",
    ("mongodbcommunity.mongodb.com/v1", "MongoDBCommunity"): "mongodbcommunity.mongodb.com_v1_mongodbcommunity.yaml",
}
# What the operators make at run time from a custom resource, so no manifest holds it (their documented names).
def operator_secrets(resources: list[dict]) -> dict[str, set[str]]:
    made = {}
    for r in resources:
        name = r["metadata"]["name"]
        if r["kind"] == "RabbitmqCluster":
            made[f"{name}-default-user"] = {"username", "password", "host", "port"}
        if r["kind"] == "User" and "importCredentialsSecret" not in r["spec"]:
            # messaging-topology-operator: generated credentials in `<name>-user-credentials`
            made[f"{name}-user-credentials"] = {"username", "password"}
        if r["kind"] == "MongoDBCommunity":
            for user in r["spec"]["users"]:
                secret = user.get("connectionStringSecretName") or f"{name}-{user.get('db', 'admin')}-{user['name']}"
                made[secret] = {"connectionString.standard", "connectionString.standardSrv", "username", "password"}
    return made


def operator_pod_labels(resources: list[dict]) -> list[dict]:
    """Labels of the pods the operators run: RabbitMQ's carry the cluster name, MongoDB's `app: <name>-svc`
    (mongodb-kubernetes-operator controllers/construct/mongodbstatefulset.go labels them with ServiceName())."""
    found = []
    for r in resources:
        if r["kind"] == "RabbitmqCluster":
            found.append({"app.kubernetes.io/name": r["metadata"]["name"]})
        if r["kind"] == "MongoDBCommunity":
            found.append({"app": f"{r['metadata']['name']}-svc"})
    return found


POD_KINDS = {"Deployment", "StatefulSet", "Job"}
OBJECT_META = "/api/_definitions.json#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"


def overlays() -> list[Path]:
    return sorted(p for p in (ROOT / "overlays").iterdir() if (p / "kustomization.yaml").exists())


def name_of(resource: dict) -> str:
    return f"{resource.get('kind')}/{resource.get('metadata', {}).get('name')}"


# ------------------------------------------------------------------ schemas
def _closed(schema):
    """An OpenAPI (CRD) schema as JSON Schema where unknown fields fail, like kubernetes-validate's strict mode."""
    if isinstance(schema, list):
        return [_closed(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _closed(v) for k, v in schema.items()}
    if "properties" in out and "additionalProperties" not in out \
            and not out.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    if out.pop("nullable", False) and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


@cache
def _k8s_definitions() -> Resource:
    import importlib.resources

    minor = ".".join(K8S_VERSION.split(".")[:2])
    path = importlib.resources.files("kubernetes_validate") / "kubernetes-json-schema" / \
        f"v{minor}.0-local-strict" / "_definitions.json"
    return Resource.from_contents(json.loads(path.read_text()))


@cache
def custom_schema(api_version: str, kind: str) -> dict:
    raw = yaml.safe_load((SCHEMAS / CUSTOM[(api_version, kind)]).read_text())
    schema = _closed(raw)
    schema["properties"]["metadata"] = {"$ref": OBJECT_META}
    schema["$id"] = f"https://kubernetes.io/api/custom/{CUSTOM[(api_version, kind)]}"
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def _pruned_fields(instance, schema, path: str) -> list[str]:
    """Fields a manifest sets inside a subtree left out of the vendored schema."""
    if not isinstance(schema, dict):
        return []
    if schema.get("x-hireloop-pruned"):
        return [f"{path}: not vendored in infra/k8s/schemas (pruned): vendor that part of the CRD first"]
    found = []
    if isinstance(instance, dict):
        for k, v in instance.items():
            found += _pruned_fields(v, schema.get("properties", {}).get(k), f"{path}.{k}")
    elif isinstance(instance, list):
        for n, v in enumerate(instance):
            found += _pruned_fields(v, schema.get("items"), f"{path}[{n}]")
    return found


def schema_errors(resource: dict) -> list[str]:
    """Why `resource` does not fit its schema (empty when it does)."""
    where = name_of(resource)
    if (resource.get("apiVersion"), resource.get("kind")) in CUSTOM:
        schema = custom_schema(resource["apiVersion"], resource["kind"])
        registry = Registry().with_resources([(schema["$id"], Resource.from_contents(schema)),
                                             ("https://kubernetes.io/api/_definitions.json", _k8s_definitions())])
        validator = jsonschema.Draft202012Validator(schema, registry=registry)
        errors = [f"{where}: {'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
                  for e in validator.iter_errors(resource)]
        return errors + [f"{where}: {e}" for e in _pruned_fields(resource, schema, "")]
    try:
        kubernetes_validate.validate(copy.deepcopy(resource), K8S_VERSION, strict=True)
    except kubernetes_validate.SchemaNotFoundError as exc:
        return [f"{where}: no schema for {resource.get('apiVersion')} {resource.get('kind')}: {exc}"]
    except kubernetes_validate.ValidationError as exc:
        # kubernetes-validate stops at the first error (it copies jsonschema's error into its own).
        return [f"{where}: {'.'.join(map(str, exc.absolute_path)) or '<root>'}: {exc.message}"]
    return []


# ------------------------------------------------------------------ references
def _pod_spec(resource: dict) -> dict | None:
    if resource["kind"] in POD_KINDS:
        return resource["spec"]["template"]["spec"]
    return None


def _template_labels(resource: dict) -> dict:
    return resource["spec"]["template"].get("metadata", {}).get("labels", {})


def _selects(selector: dict, labels: dict) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _command(resource: dict) -> list[str]:
    return _pod_spec(resource)["containers"][0].get("command", [])


def reference_errors(resources: list[dict]) -> list[str]:  # noqa: C901 - one list of independent checks
    from shared.bus import topology
    from shared.contracts.common import SERVICES

    by_kind: dict[str, dict[str, dict]] = {}
    for r in resources:
        by_kind.setdefault(r["kind"], {})[r["metadata"]["name"]] = r
    config_maps = {n: set(r.get("data", {})) | set(r.get("binaryData", {}))
                   for n, r in by_kind.get("ConfigMap", {}).items()}
    secrets = {n: set(r.get("stringData", {})) | set(r.get("data", {})) for n, r in by_kind.get("Secret", {}).items()}
    secrets |= operator_secrets(resources)
    errors: list[str] = []

    def need(where: str, store: dict, kind: str, name: str, key: str | None = None, optional: bool = False):
        if optional:
            return
        if name not in store:
            errors.append(f"{where}: {kind} {name!r} does not exist")
        elif key is not None and key not in store[name]:
            errors.append(f"{where}: {kind} {name!r} has no key {key!r}")

    pods = {name_of(r): r for r in resources if _pod_spec(r) is not None}
    for where, r in pods.items():
        spec = _pod_spec(r)
        for c in spec.get("containers", []) + spec.get("initContainers", []):
            for src in c.get("envFrom", []):
                if "configMapRef" in src:
                    need(where, config_maps, "ConfigMap", src["configMapRef"]["name"],
                         optional=src["configMapRef"].get("optional", False))
                if "secretRef" in src:
                    need(where, secrets, "Secret", src["secretRef"]["name"],
                         optional=src["secretRef"].get("optional", False))
            for env in c.get("env", []):
                ref = env.get("valueFrom", {})
                if "configMapKeyRef" in ref:
                    k = ref["configMapKeyRef"]
                    need(where, config_maps, "ConfigMap", k["name"], k["key"], k.get("optional", False))
                if "secretKeyRef" in ref:
                    k = ref["secretKeyRef"]
                    need(where, secrets, "Secret", k["name"], k["key"], k.get("optional", False))
            mounts = {m["name"] for m in c.get("volumeMounts", [])}
            claims = {t["metadata"]["name"] for t in r["spec"].get("volumeClaimTemplates", [])}
            missing = mounts - {v["name"] for v in spec.get("volumes", [])} - claims
            if missing:
                errors.append(f"{where}: container {c['name']} mounts undefined volumes {sorted(missing)}")
        for vol in spec.get("volumes", []):
            sources = [vol] + vol.get("projected", {}).get("sources", [])
            for src in sources:
                for field, store, kind, name_key in (("configMap", config_maps, "ConfigMap", "name"),
                                                     ("secret", secrets, "Secret", "secretName")):
                    if field in src:
                        ref = src[field]
                        ref_name = ref.get(name_key) or ref.get("name")
                        need(where, store, kind, ref_name, optional=ref.get("optional", False))
                        for item in ref.get("items", []):
                            need(where, store, kind, ref_name, item["key"], ref.get("optional", False))

    templates = [r for r in resources if r["kind"] in {"Deployment", "StatefulSet"}]
    pod_labels = [_template_labels(t) for t in templates] + operator_pod_labels(resources)
    for r in by_kind.get("Service", {}).values():
        selector = r["spec"].get("selector")
        if not any(_selects(selector, labels) for labels in pod_labels):
            errors.append(f"{name_of(r)}: selector {selector} matches no Deployment or StatefulSet")
    for r in by_kind.get("PodDisruptionBudget", {}).values():
        selector = r["spec"].get("selector", {}).get("matchLabels", {})
        if not any(_selects(selector, labels) for labels in pod_labels):
            errors.append(f"{name_of(r)}: selector {selector} matches no Deployment or StatefulSet")
    for t in templates:
        if not _selects(t["spec"]["selector"]["matchLabels"], _template_labels(t)):
            errors.append(f"{name_of(t)}: spec.selector does not match its own pod template labels")

    deployments = by_kind.get("Deployment", {})
    for r in by_kind.get("HorizontalPodAutoscaler", {}).values():
        target = r["spec"]["scaleTargetRef"]
        if target["kind"] != "Deployment" or target["name"] not in deployments:
            errors.append(f"{name_of(r)}: targets {target['kind']}/{target['name']}, which does not exist")
    auths = by_kind.get("TriggerAuthentication", {})
    for r in auths.values():
        for ref in r["spec"].get("secretTargetRef", []):
            need(name_of(r), secrets, "Secret", ref["name"], ref["key"])
    known_queues = {spec.name for spec in topology.queues()}
    scaled: dict[str, dict] = {}
    for r in by_kind.get("ScaledObject", {}).values():
        target = r["spec"]["scaleTargetRef"]
        if target.get("kind", "Deployment") != "Deployment" or target["name"] not in deployments:
            errors.append(f"{name_of(r)}: targets Deployment {target['name']!r}, which does not exist")
        scaled[target["name"]] = r
        for trigger in r["spec"]["triggers"]:
            if trigger["type"] == "rabbitmq" and trigger["metadata"].get("queueName") not in known_queues:
                errors.append(f"{name_of(r)}: queue {trigger['metadata'].get('queueName')!r} is not in the topology")
            auth = trigger.get("authenticationRef", {}).get("name")
            if auth and auth not in auths:
                errors.append(f"{name_of(r)}: TriggerAuthentication {auth!r} does not exist")
    if "HorizontalPodAutoscaler" in by_kind:
        both = set(scaled) & {h["spec"]["scaleTargetRef"]["name"] for h in by_kind["HorizontalPodAutoscaler"].values()}
        if both:
            errors.append(f"Deployments scaled by both KEDA and an HPA: {sorted(both)}")

    grace = float(by_kind.get("ConfigMap", {}).get("hireloop-config", {}).get("data", {}).get("SHUTDOWN_GRACE", 20))
    for service in SERVICES:
        running = [d for d in deployments.values() if _command(d) == ["python", "-m", f"services.{service}"]]
        if len(running) != 1:
            errors.append(f"service {service}: {len(running)} Deployments run services.{service} (want 1)")
            continue
        d = running[0]
        spec = _pod_spec(d)
        probe = spec["containers"][0].get("readinessProbe", {}).get("exec", {}).get("command", [])
        if probe[:4] != ["python", "-m", "shared.bus.healthcheck", service]:
            errors.append(f"{name_of(d)}: readiness is not the health RPC of {service}: {probe}")
        if spec.get("terminationGracePeriodSeconds", 30) <= grace:
            errors.append(f"{name_of(d)}: terminationGracePeriodSeconds must exceed SHUTDOWN_GRACE ({grace:g})")
        so = scaled.get(d["metadata"]["name"])
        if so is None:
            errors.append(f"service {service}: no ScaledObject targets {name_of(d)}")
            continue
        queues = {t["metadata"].get("queueName") for t in so["spec"]["triggers"] if t["type"] == "rabbitmq"}
        if queues != {topology.rpc_queue(service), topology.inbox_queue(service)}:
            errors.append(f"{name_of(so)}: scales {service} on {sorted(queues)}, not on its RPC and inbox queues")
    return errors


def check(overlay: Path) -> tuple[list[dict], list[str]]:
    resources = build(overlay)
    errors = [e for r in resources for e in schema_errors(r)]
    return resources, errors + reference_errors(resources)


def main() -> int:
    failed = False
    for overlay in overlays():
        resources, errors = check(overlay)
        kinds = sorted({r["kind"] for r in resources})
        print(f"{overlay.relative_to(ROOT.parents[1])}: {len(resources)} resources ({', '.join(kinds)}), "
              f"Kubernetes {K8S_VERSION}: {'ok' if not errors else f'{len(errors)} problems'}")
        for e in errors:
            print("  " + e)
        failed |= bool(errors)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
