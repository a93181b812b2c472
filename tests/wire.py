"""Shape checks for the union answers: every key of an example is present, with the
example's JSON kind; keys the example lacks (those of Support Board 3.8) may be added."""


def assert_has_shape(value, example, path="response"):
    """``value`` holds the example's keys (and maybe more) with the same JSON kinds
    (a null in the example admits anything; lists are checked on their first item)."""
    if example is None:
        return
    if isinstance(example, dict):
        assert isinstance(value, dict), f"{path}: expected an object, got {value!r}"
        missing = set(example) - set(value)
        assert not missing, f"{path}: lacks the reference's keys {sorted(missing)}"
        for key in example:
            assert_has_shape(value[key], example[key], f"{path}.{key}")
    elif isinstance(example, list):
        assert isinstance(value, list), f"{path}: expected a list, got {value!r}"
        if example and value:
            assert_has_shape(value[0], example[0], f"{path}[0]")
    elif isinstance(example, bool):
        assert isinstance(value, bool), f"{path}: expected a boolean, got {value!r}"
    elif isinstance(example, (int, float)):
        assert isinstance(value, (int, float)) and not isinstance(value, bool), \
            f"{path}: expected a number, got {value!r}"
    elif isinstance(example, str):
        assert value is None or isinstance(value, str), f"{path}: expected a string, got {value!r}"


def assert_has_keys(value, example, path="response"):
    """Only the keys: where Support Board 3.8's JSON types win over the example's (ids as
    numeric strings where the example shows numbers)."""
    if isinstance(example, dict):
        assert isinstance(value, dict), f"{path}: expected an object, got {value!r}"
        missing = set(example) - set(value)
        assert not missing, f"{path}: lacks the reference's keys {sorted(missing)}"
        for key in example:
            assert_has_keys(value[key], example[key], f"{path}.{key}")
    elif isinstance(example, list) and example and isinstance(value, list) and value:
        assert_has_keys(value[0], example[0], f"{path}[0]")
