"""Reference run of XGBoost for the @contender/ml benchmark.

Reads a JSON job on stdin: {"csv", "drop", "label", "train", "test", "params", "rounds", "repeats"},
where "train"/"test" are row indices of the CSV's data rows (the header excluded), so XGBoost sees
exactly the split the TypeScript trainer saw. Prints one JSON line on stdout:
{"xgboost": version, "seconds": best wall time of DMatrix construction + training, "auc": test AUC}.
Exit code 3 means xgboost (or numpy) is not importable, so the caller can say so and go on.
"""
import json
import sys
import time

try:
    import numpy as np
    import xgboost as xgb
except ImportError as exc:
    print(json.dumps({"error": f"xgboost unavailable: {exc}"}))
    sys.exit(3)


def roc_auc(y, scores):
    # Mann-Whitney with midranks, so ties count one half (same definition as the TypeScript side).
    order = np.argsort(scores, kind="mergesort")
    ranked = scores[order]
    ranks = np.empty(len(scores), dtype=np.float64)
    i = 0
    n = len(scores)
    while i < n:
        j = i
        while j + 1 < n and ranked[j + 1] == ranked[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    pos = float(np.sum(y == 1))
    neg = float(len(y) - pos)
    return (float(np.sum(ranks[y == 1])) - pos * (pos + 1) / 2.0) / (pos * neg)


def main():
    job = json.load(sys.stdin)
    with open(job["csv"], encoding="utf-8") as fh:
        header = fh.readline().strip().split(",")
    data = np.loadtxt(job["csv"], delimiter=",", skiprows=1, dtype=np.float64)
    label_col = header.index(job["label"])
    keep = [j for j, name in enumerate(header) if name != job["label"] and name not in job["drop"]]
    X = data[:, keep]
    y = data[:, label_col]
    train = np.asarray(job["train"], dtype=np.int64)
    test = np.asarray(job["test"], dtype=np.int64)
    X_train, y_train = X[train], y[train]
    X_test, y_test = X[test], y[test]

    best = float("inf")
    booster = None
    for _ in range(job.get("repeats", 3)):
        start = time.perf_counter()
        dtrain = xgb.DMatrix(X_train, label=y_train)
        booster = xgb.train(job["params"], dtrain, num_boost_round=job["rounds"])
        best = min(best, time.perf_counter() - start)
    scores = booster.predict(xgb.DMatrix(X_test))
    print(json.dumps({"xgboost": xgb.__version__, "seconds": best, "auc": roc_auc(y_test, scores)}))


if __name__ == "__main__":
    main()
