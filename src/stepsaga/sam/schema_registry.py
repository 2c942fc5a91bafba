"""Saga -> its EventBridge Schema Registry: one registry per saga, one schema per domain event, as plain data.

The schemas are the committed ones (``stepsaga.choreography.schemas``), in JSON Schema draft 4: the
registry takes ``OpenApi3`` or ``JSONSchemaDraft4``, and draft 4 is what validators on the producer's side
check events with. ``Content`` is the schema's compact JSON text (CloudFormation takes the schema inline,
not from a file), so the registry holds exactly what ``stepsaga check`` compares with schemas/.
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-eventschemas-schema.html

Logical IDs follow ``Names``: ``<Saga>EventSchemas`` for the registry and ``<Saga><DetailType>Schema`` for
each schema. The registry's physical name is ``<stack>-<Saga>``, so two stacks of one saga never share one;
a schema is named after its detail-type, unique within its saga's registry.
"""

from __future__ import annotations

from typing import Any

from stepsaga.choreography.plan import plan as saga_plan
from stepsaga.model import Saga
from stepsaga.sam.resources import Names, _metadata, get_att, sub

Json = dict[str, Any]

#: The schema type of every generated schema.
SCHEMA_TYPE = "JSONSchemaDraft4"


def registry_id(names: Names) -> str:
    """The logical ID of a saga's schema registry: OrderSaga -> OrderSagaEventSchemas."""
    return f"{names.saga}EventSchemas"


def schema_id(names: Names, event: str) -> str:
    """The logical ID of one event's schema: (OrderSaga, PaymentFailed) -> OrderSagaPaymentFailedSchema."""
    return f"{names.saga}{event}Schema"


def registry_resources(saga: Saga, names: Names) -> dict[str, Json]:
    """The saga's ``AWS::EventSchemas::Registry`` and one ``AWS::EventSchemas::Schema`` per event, in plan order.

    Needs pydantic (the event models), imported here so that importing ``stepsaga.sam`` does not.
    """
    from stepsaga.choreography.schemas import compact, event_schemas

    the_plan = saga_plan(saga)
    registry = registry_id(names)
    out: dict[str, Json] = {
        registry: {
            "Type": "AWS::EventSchemas::Registry",
            "Metadata": _metadata(saga),
            "Properties": {
                "RegistryName": sub(f"${{AWS::StackName}}-{saga.name}"),
                "Description": f"The domain events of saga {saga.name}, one JSON Schema (draft 4) per detail-type",
            },
        },
    }
    for name, schema in event_schemas(the_plan).items():
        spec = the_plan.event(name)
        about = f", about {spec.state}" if spec.state else ""
        out[schema_id(names, name)] = {
            "Type": "AWS::EventSchemas::Schema",
            "Metadata": _metadata(saga),
            "Properties": {
                "RegistryName": get_att(registry, "RegistryName"),
                "SchemaName": name,
                "Type": SCHEMA_TYPE,
                "Description": f"{name} ({spec.kind.replace('_', ' ')}{about}) from {spec.source}, in saga {saga.name}",
                "Content": compact(schema),
            },
        }
    return out
