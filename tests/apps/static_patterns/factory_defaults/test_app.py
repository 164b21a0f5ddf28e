from .app import create_app


def test_without_authentication():
    app = create_app(config_path="testing.toml", authentication=False)
    assert app
