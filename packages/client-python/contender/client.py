"""A small typed client over Contender's HTTP APIs: the standard library plus requests only."""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Literal, Optional, TypedDict, Union

import requests

__all__ = ["Contender", "ContenderError", "Model", "ModelVersion", "DatasetVersion", "Run"]

Json = Dict[str, Any]
Mode = Literal["split", "shadow"]


class Model(TypedDict, total=False):
    name: str
    task: str
    description: Optional[str]
    primaryMetric: str
    aliases: Dict[str, int]
    traffic: Json
    latestVersion: Optional[int]


class ModelVersion(TypedDict, total=False):
    model: str
    version: int
    sha256: str
    sizeBytes: int
    metrics: Dict[str, float]
    params: Json
    featureNames: List[str]
    source: Json
    createdAt: str
    createdBy: str


class DatasetVersion(TypedDict, total=False):
    dataset: str
    version: int
    sha256: str
    sizeBytes: int
    rows: int
    columns: List[str]
    uri: str
    createdAt: str
    createdBy: str


class Run(TypedDict, total=False):
    id: str
    dag: str
    model: str
    trigger: str
    cause: Optional[str]
    status: Literal["queued", "running", "succeeded", "failed", "skipped", "cancelled"]
    params: Json
    steps: List[Json]
    progress: Optional[Json]
    output: Any
    error: Any


@dataclass
class ContenderError(Exception):
    """A server's JSON error, or a connection failure (status 0)."""

    status: int
    code: str
    message: str
    details: Any = None
    request_id: Optional[str] = None

    def __str__(self) -> str:
        rid = f" (request {self.request_id})" if self.request_id else ""
        return f"{self.status} {self.code}: {self.message}{rid}"


FINISHED = {"succeeded", "failed", "skipped", "cancelled"}


class Contender:
    """One client for the three services. Arguments default to the CONTENDER_* environment variables."""

    def __init__(
        self,
        registry_url: Optional[str] = None,
        serving_url: Optional[str] = None,
        scheduler_url: Optional[str] = None,
        api_key: Optional[str] = None,
        timeout: float = 30.0,
        session: Optional[requests.Session] = None,
    ) -> None:
        env = os.environ
        self.registry_url = (registry_url or env.get("CONTENDER_REGISTRY_URL") or "http://127.0.0.1:8081").rstrip("/")
        self.serving_url = (serving_url or env.get("CONTENDER_SERVING_URL") or "http://127.0.0.1:8080").rstrip("/")
        self.scheduler_url = (scheduler_url or env.get("CONTENDER_SCHEDULER_URL") or "http://127.0.0.1:8082").rstrip("/")
        self.api_key = api_key or env.get("CONTENDER_API_KEY")
        self.timeout = timeout
        self.http = session or requests.Session()

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> "Contender":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- transport ------------------------------------------------------------------------------
    def _call(
        self,
        base: str,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Optional[Json] = None,
        files: Any = None,
        data: Any = None,
        idempotency_key: Optional[str] = None,
        stream: bool = False,
    ) -> Any:
        headers = {}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        try:
            res = self.http.request(
                method,
                base + path,
                json=json_body,
                params={k: v for k, v in (params or {}).items() if v is not None},
                files=files,
                data=data,
                headers=headers,
                timeout=self.timeout,
                stream=stream,
            )
        except requests.RequestException as err:
            raise ContenderError(0, "unreachable", f"{method} {base}{path}: {err}") from err
        if res.status_code >= 400:
            raise _to_error(res)
        if stream:
            return res
        if res.status_code == 204 or not res.content:
            return None
        return res.json()

    def _registry(self, method: str, path: str, **kw: Any) -> Any:
        return self._call(self.registry_url, method, "/api/v1" + path, **kw)

    def _scheduler(self, method: str, path: str, **kw: Any) -> Any:
        return self._call(self.scheduler_url, method, "/api/v1" + path, **kw)

    # -- models and versions --------------------------------------------------------------------
    def create_model(self, name: str, task: str = "binary_classification", primary_metric: Optional[str] = None,
                     description: Optional[str] = None, **extra: Any) -> Model:
        body: Json = {"name": name, "task": task, **extra}
        if primary_metric:
            body["primaryMetric"] = primary_metric
        if description:
            body["description"] = description
        return self._registry("POST", "/models", json_body=body)

    def list_models(self, limit: int = 100) -> List[Model]:
        return _items(self._registry("GET", "/models", params={"limit": limit}))

    def get_model(self, name: str) -> Model:
        return self._registry("GET", f"/models/{_seg(name)}")

    def upload_version(self, model: str, onnx_file: Union[str, Path], metadata: Optional[Json] = None,
                       idempotency_key: Optional[str] = None) -> ModelVersion:
        """Uploads an ONNX file (streamed from disk) with its metadata: featureNames, metrics, params, source…"""
        with open(onnx_file, "rb") as fh:
            files: Dict[str, Any] = {"artifact": (Path(onnx_file).name, fh, "application/octet-stream")}
            if metadata is not None:
                files["metadata"] = (None, json.dumps(metadata), "application/json")
            return self._registry("POST", f"/models/{_seg(model)}/versions", files=files, idempotency_key=idempotency_key)

    def list_versions(self, model: str, limit: int = 100) -> List[ModelVersion]:
        return _items(self._registry("GET", f"/models/{_seg(model)}/versions", params={"limit": limit}))

    def get_version(self, model: str, version: int) -> ModelVersion:
        return self._registry("GET", f"/models/{_seg(model)}/versions/{int(version)}")

    def download_version(self, model: str, version: int, dest: Union[str, Path]) -> Path:
        res = self._registry("GET", f"/models/{_seg(model)}/versions/{int(version)}/artifact", stream=True)
        return _save(res, dest)

    # -- aliases, traffic, promotion --------------------------------------------------------------
    def set_alias(self, model: str, alias: str, version: int, reason: Optional[str] = None) -> Json:
        return self._registry("PUT", f"/models/{_seg(model)}/aliases/{_seg(alias)}", json_body=_drop_none({"version": version, "reason": reason}))

    def delete_alias(self, model: str, alias: str, reason: Optional[str] = None) -> Any:
        return self._registry("DELETE", f"/models/{_seg(model)}/aliases/{_seg(alias)}", params={"reason": reason})

    def set_traffic(self, model: str, challenger_percent: float, mode: Mode = "split", reason: Optional[str] = None) -> Json:
        return self._registry("PUT", f"/models/{_seg(model)}/traffic",
                              json_body=_drop_none({"challengerPercent": challenger_percent, "mode": mode, "reason": reason}))

    def promote(self, model: str, reason: Optional[str] = None, force: bool = False, idempotency_key: Optional[str] = None) -> Model:
        body = _drop_none({"reason": reason, "force": True if force else None})
        return self._registry("POST", f"/models/{_seg(model)}/promote", json_body=body, idempotency_key=idempotency_key)

    def rollback(self, model: str, reason: Optional[str] = None, idempotency_key: Optional[str] = None) -> Model:
        return self._registry("POST", f"/models/{_seg(model)}/rollback", json_body=_drop_none({"reason": reason}), idempotency_key=idempotency_key)

    def events(self, model: str, limit: int = 100) -> List[Json]:
        return _items(self._registry("GET", f"/models/{_seg(model)}/events", params={"limit": limit}))

    # -- datasets ---------------------------------------------------------------------------------
    def create_dataset(self, name: str, description: Optional[str] = None, tags: Optional[Iterable[str]] = None) -> Json:
        return self._registry("POST", "/datasets", json_body=_drop_none({"name": name, "description": description, "tags": list(tags) if tags else None}))

    def upload_dataset_version(self, dataset: str, csv_file: Union[str, Path], metadata: Optional[Json] = None,
                               idempotency_key: Optional[str] = None) -> DatasetVersion:
        with open(csv_file, "rb") as fh:
            files: Dict[str, Any] = {"file": (Path(csv_file).name, fh, "text/csv")}
            if metadata is not None:
                files["metadata"] = (None, json.dumps(metadata), "application/json")
            return self._registry("POST", f"/datasets/{_seg(dataset)}/versions", files=files, idempotency_key=idempotency_key)

    def list_datasets(self) -> List[Json]:
        return _items(self._registry("GET", "/datasets"))

    def get_dataset_version(self, dataset: str, version: Union[int, str] = "latest") -> DatasetVersion:
        return self._registry("GET", f"/datasets/{_seg(dataset)}/versions/{_seg(str(version))}")

    def download_dataset_version(self, dataset: str, dest: Union[str, Path], version: Union[int, str] = "latest") -> Path:
        res = self._registry("GET", f"/datasets/{_seg(dataset)}/versions/{_seg(str(version))}/content", stream=True)
        return _save(res, dest)

    # -- serving ----------------------------------------------------------------------------------
    def predict(self, model: str, features: Optional[Json] = None, entity_id: Optional[str] = None) -> Json:
        return self._call(self.serving_url, "POST", "/predict", json_body=_drop_none({"model": model, "entityId": entity_id, "features": features}))

    def feedback(self, prediction_id: str, label: float) -> Any:
        return self._call(self.serving_url, "POST", "/feedback", json_body={"predictionId": prediction_id, "label": label})

    # -- scheduler: runs, schedules, reports ------------------------------------------------------
    def trigger_run(self, dag: str, model: str, params: Optional[Json] = None) -> str:
        return self._scheduler("POST", f"/dags/{_seg(dag)}/runs", json_body=_drop_none({"model": model, "params": params}))["runId"]

    def get_run(self, run_id: str) -> Run:
        return self._scheduler("GET", f"/runs/{_seg(run_id)}")

    def list_runs(self, dag: Optional[str] = None, model: Optional[str] = None, status: Optional[str] = None, limit: int = 50) -> List[Run]:
        return _items(self._scheduler("GET", "/runs", params={"dag": dag, "model": model, "status": status, "limit": limit}))

    def cancel_run(self, run_id: str) -> Run:
        return self._scheduler("POST", f"/runs/{_seg(run_id)}/cancel")

    def wait_for_run(self, run_id: str, timeout: float = 600.0, poll: float = 1.0) -> Run:
        """Polls until the run has finished (any final status) or `timeout` seconds pass."""
        deadline = time.monotonic() + timeout
        while True:
            run = self.get_run(run_id)
            if run.get("status") in FINISHED:
                return run
            if time.monotonic() > deadline:
                raise ContenderError(0, "timeout", f"run {run_id} still {run.get('status')} after {timeout} s")
            time.sleep(poll)

    def set_schedule(self, dag: str, model: str, cron: Optional[str] = None, params: Optional[Json] = None,
                     enabled: Optional[bool] = None) -> Json:
        return self._scheduler("PUT", f"/schedules/{_seg(dag)}/{_seg(model)}", json_body=_drop_none({"cron": cron, "params": params, "enabled": enabled}))

    def evaluation(self, model: str, history: Optional[int] = None) -> Any:
        """The latest champion–challenger evaluation report (or the last `history` of them)."""
        return self._scheduler("GET", f"/models/{_seg(model)}/evaluation", params={"history": history})

    def drift(self, model: str, history: Optional[int] = None) -> Any:
        return self._scheduler("GET", f"/models/{_seg(model)}/drift", params={"history": history})


def _to_error(res: requests.Response) -> ContenderError:
    rid = res.headers.get("x-request-id")
    try:
        e = res.json().get("error") or {}
        if e.get("code"):
            return ContenderError(res.status_code, e["code"], e.get("message", e["code"]), e.get("details"), e.get("requestId", rid))
    except ValueError:
        pass
    return ContenderError(res.status_code, f"http_{res.status_code}", res.text[:300] or res.reason, None, rid)


def _seg(s: str) -> str:
    return requests.utils.quote(str(s), safe="")


def _items(page: Any) -> List[Any]:
    return page["items"] if isinstance(page, dict) and "items" in page else page


def _drop_none(d: Json) -> Json:
    return {k: v for k, v in d.items() if v is not None}


def _save(res: requests.Response, dest: Union[str, Path]) -> Path:
    path = Path(dest)
    with open(path, "wb") as fh:
        for chunk in res.iter_content(chunk_size=1 << 16):
            fh.write(chunk)
    return path
