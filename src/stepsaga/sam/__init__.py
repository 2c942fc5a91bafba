"""Deployment with AWS SAM: the one entry point of ``stepsaga template`` and of the template checks.

Import from here, not from the modules below; each owns one reason to change:

* ``stepsaga.sam.resources``: saga -> the SAM resources and outputs that deploy it, as plain data
  (functions, roles, tables, queue, key, alarms, API), for each mode in ``saga.modes``;
* ``stepsaga.sam.choreography``: the choreography's part of those (bus, per consumer a queue, rule,
  policy, function and role, ledger, saga log, event dead-letter queue, adapter layer, PutEvents API),
  from the routing plan. Later concerns (the event schemas) get modules beside it the same way;
* ``stepsaga.sam.sync``: merging generated entries into a user's template.yaml with ruamel.yaml,
  keeping every other line byte for byte (``TemplateError``);
* ``stepsaga.sam.template``: where things are (``Layout``), rendering and writing template.yaml and the
  ASL it names, and the checks on a template (placeholders against ``DefinitionSubstitutions``);
* ``stepsaga.sam.schema_bounds``: where an HTTP trigger's JSON schema lets a request grow without bound;
* ``stepsaga.sam.event_patterns``: every event pattern in the template, linted as PutRule checks it.
* ``stepsaga.sam.adapter_layer``: the folder the choreography's adapter layer is built from: stepsaga's source, or
  (installed from a wheel) the project's ``layers/stepsaga/``, whose ``requirements.txt`` stepsaga writes;
* ``stepsaga.sam.schema_registry``: a saga's EventBridge Schema Registry (one schema per domain event), as
  plain data (it needs pydantic, for the event models).
* ``stepsaga.sam.definition``: the state machine of a definition stepsaga did not compile (a Data Science SDK
  workflow's), with the policy templates its Tasks need, as plain data.

Importing this package imports ruamel.yaml (the ``deploy`` extra): only ``stepsaga template`` and
``stepsaga check`` do, never the compile path. The model-level rules the template applies, a step's
table access (``stepsaga.table_access``) and its function timeout (``stepsaga.lambda_timeout``), stay
outside this package because the model validates them on the compile path.
"""

from __future__ import annotations

from stepsaga.sam.definition import definition_resource, definition_template
from stepsaga.sam.event_patterns import pattern_problems
from stepsaga.sam.resources import (
    COMPENSATION_RESERVED_CONCURRENCY,
    LAMBDA_RUNTIME,
    LOG_DELIVERY_ACTIONS,
    MARKER,
    GeneratedSaga,
    Names,
    generate,
    table_actions,
)
from stepsaga.sam.schema_bounds import unbounded
from stepsaga.sam.schema_registry import SCHEMA_TYPE, registry_id, registry_resources, schema_id
from stepsaga.sam.sync import TemplateError, load, plain
from stepsaga.sam.template import (
    Layout,
    generated_owners,
    layer_problems,
    render,
    schema_warnings,
    substitution_problems,
    sync_asl,
    sync_file,
    sync_layer,
)

__all__ = [
    "COMPENSATION_RESERVED_CONCURRENCY",
    "LAMBDA_RUNTIME",
    "LOG_DELIVERY_ACTIONS",
    "MARKER",
    "SCHEMA_TYPE",
    "GeneratedSaga",
    "Layout",
    "Names",
    "TemplateError",
    "definition_resource",
    "definition_template",
    "generate",
    "generated_owners",
    "layer_problems",
    "load",
    "pattern_problems",
    "plain",
    "registry_id",
    "registry_resources",
    "render",
    "schema_id",
    "schema_warnings",
    "substitution_problems",
    "sync_asl",
    "sync_file",
    "sync_layer",
    "table_actions",
    "unbounded",
]
