"""A module with only an application factory: `factoryonly` alone names create_app()."""

from specapp import Marker


def create_app():
    return Marker("create_app")
