pytest_plugins = ["tests.fixtures.redis", "tests.harness.fixtures"]
