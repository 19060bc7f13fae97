"""infra/k8s validates without a cluster: every overlay builds, every resource fits its schema (Kubernetes
1.30 core schemas from kubernetes-validate in strict mode, vendored CRD schemas for KEDA, RabbitMQ and
MongoDB), and the references between resources hold. A broken manifest must fail each of these."""

import copy
import json

import pytest
import yaml

from infra.k8s import check
from infra.k8s.kustomize import KustomizeError, build, image_name, merge
from shared.bus import topology
from shared.contracts.common import SERVICES

OVERLAYS = check.overlays()


def by_key(resources):
    return {(r["kind"], r["metadata"]["name"]): r for r in resources}


@pytest.fixture(scope="module")
def built():
    return {o.name: build(o) for o in OVERLAYS}


def test_there_are_dev_and_production_overlays():
    assert {o.name for o in OVERLAYS} == {"dev", "production"}


@pytest.mark.parametrize("overlay", [o.name for o in OVERLAYS])
def test_every_resource_fits_its_schema(built, overlay):
    resources = built[overlay]
    errors = [e for r in resources for e in check.schema_errors(r)]
    assert errors == []
    custom = [r for r in resources if (r["apiVersion"], r["kind"]) in check.CUSTOM]
    assert {r["kind"] for r in custom} == {"ScaledObject", "TriggerAuthentication", "RabbitmqCluster",
                                           "MongoDBCommunity", "User", "Permission", "TopicPermission"}
    assert len(resources) - len(custom) >= 20  # the core kinds went through kubernetes-validate


@pytest.mark.parametrize("overlay", [o.name for o in OVERLAYS])
def test_references_between_resources_hold(built, overlay):
    assert check.reference_errors(built[overlay]) == []


@pytest.mark.parametrize("overlay", [o.name for o in OVERLAYS])
def test_each_service_has_a_deployment_and_a_scaled_object_on_its_own_queues(built, overlay):
    resources = by_key(built[overlay])
    for service in SERVICES:
        name = service.replace("_", "-")
        deployment = resources[("Deployment", name)]
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["command"] == ["python", "-m", f"services.{service}"]
        assert container["readinessProbe"]["exec"]["command"][:4] == ["python", "-m", "shared.bus.healthcheck",
                                                                      service]
        triggers = resources[("ScaledObject", name)]["spec"]["triggers"]
        assert {t["metadata"]["queueName"] for t in triggers} == {topology.rpc_queue(service),
                                                                  topology.inbox_queue(service)}
        assert all(t["authenticationRef"]["name"] == "hireloop-rabbitmq" for t in triggers)
        assert all(t["metadata"]["vhostName"] == "/" for t in triggers)  # the topology lives in "/"
    gateway = resources[("Deployment", "gateway")]["spec"]["template"]["spec"]["containers"][0]
    assert gateway["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert gateway["readinessProbe"]["httpGet"]["path"] == "/readyz"
    hpa = resources[("HorizontalPodAutoscaler", "gateway")]["spec"]
    assert hpa["metrics"][0]["resource"]["name"] == "cpu"


@pytest.mark.parametrize("overlay", [o.name for o in OVERLAYS])
def test_pods_run_unprivileged_with_resources_and_a_disruption_budget(built, overlay):
    resources = built[overlay]
    budgets = [r["spec"]["selector"]["matchLabels"] for r in resources if r["kind"] == "PodDisruptionBudget"]
    for r in resources:
        if r["kind"] not in ("Deployment", "StatefulSet", "Job"):
            continue
        pod = r["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, check.name_of(r)
        for c in pod["containers"]:
            assert c["resources"]["requests"] and c["resources"]["limits"], check.name_of(r)
            assert c["securityContext"]["readOnlyRootFilesystem"] is True, check.name_of(r)
            assert c["securityContext"]["allowPrivilegeEscalation"] is False, check.name_of(r)
        if r["kind"] == "Deployment":
            labels = r["spec"]["template"]["metadata"]["labels"]
            assert any(all(labels.get(k) == v for k, v in b.items()) for b in budgets), check.name_of(r)
            assert pod["terminationGracePeriodSeconds"] > 20


def test_production_runs_more_than_one_of_everything_and_dev_one(built):
    prod, dev = by_key(built["production"]), by_key(built["dev"])
    assert prod[("RabbitmqCluster", "hireloop-rabbitmq")]["spec"]["replicas"] == 3
    assert prod[("MongoDBCommunity", "hireloop-mongo")]["spec"]["members"] == 3
    assert prod[("HorizontalPodAutoscaler", "gateway")]["spec"]["minReplicas"] >= 2
    assert dev[("RabbitmqCluster", "hireloop-rabbitmq")]["spec"]["replicas"] == 1
    assert dev[("MongoDBCommunity", "hireloop-mongo")]["spec"]["members"] == 1
    for service in SERVICES:
        name = service.replace("_", "-")
        p, d = prod[("ScaledObject", name)]["spec"], dev[("ScaledObject", name)]["spec"]
        assert 2 <= p["minReplicaCount"] < p["maxReplicaCount"]
        assert d["minReplicaCount"] == d["maxReplicaCount"] == 1
    image = prod[("Deployment", "screening")]["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "registry.example.com/hireloop:0.1.0"


def test_the_broker_users_file_is_generated_from_the_topology():
    """Regenerate with `python -m infra.k8s.broker_users`."""
    from infra.k8s import broker_users

    assert broker_users.FILE.read_text() == broker_users.render()


@pytest.mark.parametrize("overlay", [o.name for o in OVERLAYS])
def test_each_process_connects_as_its_own_least_privilege_broker_user(built, overlay):
    """The users, permissions and topic permissions the manifests declare are broker_users() (the ones
    tests/integration/test_broker_users.py proves on a real broker), and each Deployment uses its own."""
    from infra.k8s import broker_users

    resources = built[overlay]
    assert broker_users.from_resources(resources) == topology.broker_users()
    found = by_key(resources)
    assert found[("ConfigMap", "hireloop-config")]["data"]["BROKER_TOPOLOGY"] == "predeclared"
    for user in topology.broker_users():
        container = found[("Deployment", user.name.replace("_", "-"))]["spec"]["template"]["spec"]["containers"][0]
        env = {e["name"]: e for e in container["env"]}
        for var, key in (("BROKER_USERNAME", "username"), ("BROKER_PASSWORD", "password")):
            assert env[var]["valueFrom"]["secretKeyRef"] == {"name": broker_users.user_credentials_secret(user.name),
                                                             "key": key}, (user.name, var)
        assert "REDIS_URL" in env  # the replay cache of caller contexts (the gateway: its own uses)


def test_the_secret_template_holds_only_placeholders():
    docs = yaml.safe_load_all((check.ROOT / "base" / "secret.example.yaml").read_text())
    for secret in docs:
        assert "data" not in secret
        for key, value in secret["stringData"].items():
            assert "REPLACE_ME" in value, (secret["metadata"]["name"], key)


def test_the_definitions_config_map_is_the_topology(built):
    for resources in built.values():
        config_map = by_key(resources)[("ConfigMap", "hireloop-rabbitmq-definitions")]
        assert json.loads(config_map["data"]["definitions.json"]) == topology.definitions()


# ------------------------------------------------------------------ broken manifests fail
@pytest.fixture
def production(built):
    return copy.deepcopy(built["production"])


def find(resources, kind, name):
    return by_key(resources)[(kind, name)]


def test_a_deployment_with_an_unknown_field_or_a_wrong_type_fails():
    deployment = copy.deepcopy(find(build(check.ROOT / "overlays" / "production"), "Deployment", "screening"))
    assert check.schema_errors(deployment) == []
    misspelt = copy.deepcopy(deployment)
    misspelt["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    assert any("imagePullPolicyy" in e for e in check.schema_errors(misspelt))
    wrong_type = copy.deepcopy(deployment)
    wrong_type["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = "thirty"
    assert check.schema_errors(wrong_type)


@pytest.mark.parametrize("kind,name,path,value,expected", [
    ("ScaledObject", "screening", ("spec", "maxReplicas"), 5, "maxReplicas"),
    ("ScaledObject", "screening", ("spec", "minReplicaCount"), "two", "two"),
    ("RabbitmqCluster", "hireloop-rabbitmq", ("spec", "replicas"), "three", "three"),
    # affinity is checked as the core/v1 type it is in the CRD
    ("RabbitmqCluster", "hireloop-rabbitmq", ("spec", "affinity", "podAntiAffinity", "preferred"), [], "preferred"),
    ("MongoDBCommunity", "hireloop-mongo", ("spec", "security", "tls"), {"enabled": True}, "pruned"),
    ("MongoDBCommunity", "hireloop-mongo", ("spec", "type"), "Sharded", "Sharded"),
    ("TriggerAuthentication", "hireloop-rabbitmq", ("metadata", "labelz"), {}, "labelz"),
])
def test_a_broken_custom_resource_fails(production, kind, name, path, value, expected):
    resource = find(production, kind, name)
    assert check.schema_errors(resource) == []
    target = resource
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    errors = check.schema_errors(resource)
    assert any(expected in e for e in errors), errors


def test_a_scaled_object_trigger_metadata_value_must_be_a_string(production):
    resource = find(production, "ScaledObject", "sourcing")
    resource["spec"]["triggers"][0]["metadata"]["value"] = 20
    assert check.schema_errors(resource)


def test_broken_references_fail(production):
    def errors_after(change):
        resources = copy.deepcopy(production)
        change(resources)
        return check.reference_errors(resources)

    assert errors_after(lambda rs: None) == []
    no_secret = errors_after(lambda rs: rs.remove(find(rs, "Secret", "hireloop-secrets")))
    assert any("'hireloop-secrets' does not exist" in e for e in no_secret)

    def rename_queue(rs):
        find(rs, "ScaledObject", "screening")["spec"]["triggers"][0]["metadata"]["queueName"] = "rpc-screenin"
    assert any("rpc-screenin" in e and "not in the topology" in e for e in errors_after(rename_queue))

    def wrong_selector(rs):
        find(rs, "Service", "gateway")["spec"]["selector"] = {"app.kubernetes.io/name": "gatewai"}
    assert any("Service/gateway" in e for e in errors_after(wrong_selector))

    def drop_service(rs):
        rs.remove(find(rs, "Deployment", "talent-pool"))
    dropped = errors_after(drop_service)
    assert any("services.talent_pool" in e for e in dropped) and any("ScaledObject/talent-pool" in e for e in dropped)

    def short_grace(rs):
        find(rs, "Deployment", "notification")["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 20
    assert any("SHUTDOWN_GRACE" in e for e in errors_after(short_grace))

    def missing_key(rs):
        del find(rs, "Secret", "hireloop-secrets")["stringData"]["HIRELOOP_LOOKUP_KEY"]
    assert any("HIRELOOP_LOOKUP_KEY" in e for e in errors_after(missing_key))


# ------------------------------------------------------------------ the kustomize subset
def write(root, files: dict):
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not isinstance(content, str):
            content = yaml.safe_dump_all(content) if isinstance(content, list) else yaml.safe_dump(content)
        path.write_text(content)
    return root


DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
    "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {
        "metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [
            {"name": "web", "image": "registry:5000/web:1.0", "args": ["a", "b"],
             "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
             "ports": [{"containerPort": 80, "name": "http"}]},
            {"name": "sidecar", "image": "proxy:2"}]}}}}


def test_strategic_merge_merges_named_lists_replaces_others_and_deletes_nulls():
    patch = {"spec": {"template": {"spec": {"containers": [
        {"name": "web", "args": ["c"], "env": [{"name": "B", "value": "3"}, {"name": "C", "value": "4"}],
         "ports": [{"containerPort": 80, "name": "web"}], "image": None}]}}}}
    merged = merge(DEPLOYMENT, patch)
    web, sidecar = merged["spec"]["template"]["spec"]["containers"]
    assert sidecar == {"name": "sidecar", "image": "proxy:2"}
    assert web["args"] == ["c"]
    assert web["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}, {"name": "C", "value": "4"}]
    assert web["ports"] == [{"containerPort": 80, "name": "web"}]
    assert "image" not in web
    assert DEPLOYMENT["spec"]["template"]["spec"]["containers"][0]["image"] == "registry:5000/web:1.0"


def test_build_applies_namespace_labels_images_and_patches(tmp_path):
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}
    write(tmp_path / "base", {
        "kustomization.yaml": {"resources": ["app.yaml"], "namespace": "x",
                               "labels": [{"pairs": {"team": "t"}, "includeTemplates": True}]},
        "app.yaml": [namespace, DEPLOYMENT]})
    write(tmp_path / "overlay", {
        "kustomization.yaml": {"resources": ["../base"], "patches": [{"path": "p.yaml"}],
                               "images": [{"name": "registry:5000/web", "newName": "r.example/web", "newTag": "2"},
                                          {"name": "proxy", "newName": "mirror/proxy"}]},
        "p.yaml": [{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                    "spec": {"replicas": 3}}]})
    ns, deployment = build(tmp_path / "overlay")
    assert "namespace" not in ns["metadata"] and ns["metadata"]["labels"] == {"team": "t"}
    assert deployment["metadata"]["namespace"] == "x" and deployment["spec"]["replicas"] == 3
    assert deployment["spec"]["template"]["metadata"]["labels"] == {"app": "web", "team": "t"}
    assert deployment["spec"]["selector"]["matchLabels"] == {"app": "web"}
    images = [c["image"] for c in deployment["spec"]["template"]["spec"]["containers"]]
    assert images == ["r.example/web:2", "mirror/proxy:2"]


def test_image_names_keep_registry_ports():
    assert image_name("registry:5000/web:1.0") == "registry:5000/web"
    assert image_name("web@sha256:abc") == "web" and image_name("web") == "web"


@pytest.mark.parametrize("kustomization,files,message", [
    ({"resources": [], "namePrefix": "x-"}, {}, "namePrefix"),
    ({"resources": ["app.yaml"], "patches": [{"path": "p.yaml"}]},
     {"p.yaml": [{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "nope"}}]}, "no resource"),
    ({"resources": ["app.yaml"], "patches": [{"patch": "- op: remove", "target": {"kind": "Deployment"}}]}, {},
     "only 'path'"),
    ({"resources": ["app.yaml"], "labels": [{"pairs": {"a": "b"}, "includeSelectors": True}]}, {}, "includeSelectors"),
    ({"configMapGenerator": [{"name": "c", "literals": ["a=b"]}]}, {}, "disableNameSuffixHash"),
    ({"configMapGenerator": [{"name": "c", "files": ["../secret.txt"]}],
      "generatorOptions": {"disableNameSuffixHash": True}}, {}, "outside"),
    ({"resources": ["app.yaml", "app.yaml"]}, {}, "twice"),
])
def test_build_refuses_what_it_does_not_implement(tmp_path, kustomization, files, message):
    (tmp_path / "secret.txt").write_text("s")
    write(tmp_path / "k", {"kustomization.yaml": kustomization, "app.yaml": [DEPLOYMENT], **files})
    with pytest.raises(KustomizeError, match=message):
        build(tmp_path / "k")
