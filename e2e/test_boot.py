"""The Platform Boot steps, in order, per runtime (parametrized by --runtime).

Each test is one step; a failed step makes the later steps of that runtime skip with
"blocked by <step>". The `boot` fixture's finalizer is the teardown.
"""

import pytest

from e2e.plugin import run_step


class TestPlatformBoot:
    @pytest.mark.boot_step("preflight")
    def test_preflight(self, boot):
        run_step(boot, "preflight")

    @pytest.mark.boot_step("provision")
    def test_provision(self, boot):
        run_step(boot, "provision")

    @pytest.mark.boot_step("routing")
    def test_routing(self, boot):
        run_step(boot, "routing")

    @pytest.mark.boot_step("image-roundtrip")
    def test_image_roundtrip(self, boot):
        run_step(boot, "image-roundtrip")

    @pytest.mark.boot_step("terminal")
    def test_terminal(self, boot):
        run_step(boot, "terminal")

    @pytest.mark.boot_step("config-put")
    def test_config_put(self, boot):
        run_step(boot, "config-put")

    @pytest.mark.boot_step("pong")
    def test_pong(self, boot):
        run_step(boot, "pong")

    @pytest.mark.boot_step("known-answer")
    def test_known_answer(self, boot):
        run_step(boot, "known-answer")
