"""The runbook language and its compiler: YAML in, a concrete ``Dag`` out. No Redis, no Celery.

    yamlpos    YAML -> plain data, with the line:column of every key and value
    model      the language's shape (pydantic), each entry validated on its own
    types      param types and durations; coercion of command-line text
    templates  the jinja2 sandbox (strict undefined, native single expressions)
    library    find runbooks by name or path; load one file
    checker    static checks: tasks, arguments, ids, after, cycles, templates, includes
    params     resolve given params against a runbook's declarations
    expand     expand one file into nodes (discover, foreach, when, approval, include)
    compiler   ``Compiler`` / ``compile_runbook``: check, resolve, expand, order
    dag        the compiled DAG (the contract with the engine)
    catalog    what the compiler knows of tasks and lookups

Use: ``compile_runbook("demo", {"items": 4})`` (the task catalog must be filled first,
e.g. by ``cephflow.tasks.load_all()``).
"""
