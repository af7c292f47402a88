"""The HTTP routes, one module per API area; ``outlit_sandbox.app.create_app`` puts them together.

Handlers are module-level functions of a request; they find the instance's :class:`SandboxState` on
``request.app.state.sandbox``. ``common`` holds what every area shares: JSON answers, body reading, and the
wrappers that add auth, fault injection and the documented error shapes.
"""
