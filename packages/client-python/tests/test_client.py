"""Runs against a live platform: CONTENDER_REGISTRY_URL, CONTENDER_SERVING_URL, CONTENDER_API_KEY
(a data-scientist key), CONTENDER_READER_KEY and CONTENDER_TEST_ONNX (sklearn-onnx's binary
classifier, 20 float features) are set by infra/test/python-client.test.mjs."""
import os
import tempfile
import time
import unittest
import hashlib

from contender import Contender, ContenderError

ONNX = os.environ["CONTENDER_TEST_ONNX"]
FEATURES = [f"x{i}" for i in range(20)]
MODEL = os.environ.get("CONTENDER_TEST_MODEL", "py-credit")


class ClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = Contender()
        cls.c.create_model(MODEL, task="binary_classification", description="from the Python client")
        meta = {"featureNames": FEATURES, "metrics": {"auc": 0.70}, "source": {"runId": "py-1"}}
        cls.v1 = cls.c.upload_version(MODEL, ONNX, metadata=meta)
        cls.v2 = cls.c.upload_version(MODEL, ONNX, metadata={**meta, "metrics": {"auc": 0.75}})

    @classmethod
    def tearDownClass(cls):
        cls.c.close()

    def test_models_and_versions_round_trip(self):
        self.assertIn(MODEL, [m["name"] for m in self.c.list_models()])
        self.assertEqual(self.c.get_model(MODEL)["latestVersion"], self.v2["version"])
        versions = self.c.list_versions(MODEL)
        self.assertEqual([v["version"] for v in versions], [self.v2["version"], self.v1["version"]])
        self.assertEqual(self.c.get_version(MODEL, self.v1["version"])["metrics"], {"auc": 0.70})
        with open(ONNX, "rb") as fh:
            want = hashlib.sha256(fh.read()).hexdigest()
        self.assertEqual(self.v1["sha256"], want)
        with tempfile.TemporaryDirectory() as d:
            path = self.c.download_version(MODEL, self.v1["version"], os.path.join(d, "m.onnx"))
            with open(path, "rb") as fh:
                self.assertEqual(hashlib.sha256(fh.read()).hexdigest(), want)

    def test_server_errors_become_contender_errors_with_code_message_and_request_id(self):
        with self.assertRaises(ContenderError) as caught:
            self.c.create_model(MODEL)
        e = caught.exception
        self.assertEqual((e.status, e.code), (409, "model_exists"))
        self.assertIn(MODEL, e.message)
        self.assertTrue(e.request_id)
        with self.assertRaises(ContenderError) as caught:
            self.c.get_model("no-such-model")
        self.assertEqual(caught.exception.status, 404)

    def test_a_reader_key_is_refused_writes_with_403(self):
        with Contender(api_key=os.environ["CONTENDER_READER_KEY"]) as reader:
            self.assertEqual(reader.get_model(MODEL)["name"], MODEL)
            with self.assertRaises(ContenderError) as caught:
                reader.set_traffic(MODEL, 5)
        self.assertEqual(caught.exception.status, 403)

    def test_aliases_traffic_promotion_rollback_and_the_audit_trail(self):
        c = self.c
        c.set_alias(MODEL, "champion", self.v1["version"], reason="first")
        c.set_alias(MODEL, "challenger", self.v2["version"], reason="better AUC")
        c.set_traffic(MODEL, 25, mode="split", reason="try it")
        m = c.get_model(MODEL)
        self.assertEqual(m["aliases"], {"champion": self.v1["version"], "challenger": self.v2["version"]})
        self.assertEqual(m["traffic"]["challengerPercent"], 25)

        # serving follows the registry: a prediction from one of the two versions, then its outcome
        row = {f: 0.5 for f in FEATURES}
        deadline = time.monotonic() + 30
        while True:
            try:
                p = c.predict(MODEL, features=row, entity_id="py-e-1")
                break
            except ContenderError as e:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        self.assertIn(p["version"], (self.v1["version"], self.v2["version"]))
        self.assertTrue(0.0 <= p["score"] <= 1.0)
        c.feedback(p["predictionId"], 1)

        promoted = c.promote(MODEL, reason="AUC 0.75 vs 0.70")
        self.assertEqual(promoted["aliases"], {"champion": self.v2["version"]})
        rolled = c.rollback(MODEL, reason="latency")
        self.assertEqual(rolled["aliases"]["champion"], self.v1["version"])
        actions = [e["action"] for e in c.events(MODEL)]
        for action in ("model.created", "version.registered", "model.promoted", "model.rolled_back"):
            self.assertIn(action, actions)
        reasons = [e.get("reason") for e in c.events(MODEL)]
        self.assertIn("AUC 0.75 vs 0.70", reasons)


if __name__ == "__main__":
    unittest.main()
