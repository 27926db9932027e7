"""Entry point of the example plugin `hello`."""


def activate(host):
    host.register("greet", lambda name: f"Hello, {name}!")
