"""Fixture tool server whose instance is only built inside a function."""


def build():
    import tools  # noqa: F401
    from server import mcp

    return mcp


if __name__ == "__main__":
    build().run(transport="http")
