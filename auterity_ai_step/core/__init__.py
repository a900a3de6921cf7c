"""The core: the only part that joins the layers.

The executor takes a node from the host, the engine runs one step through routing, money and
the store, ``plan`` is shared by a run and an estimate, and ``policy_source`` keeps the
policy in force. Faces (api, cli, service, integrations) use the core, not the layers below.
"""
