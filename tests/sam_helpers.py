"""Generated resources through SAM's own transform, for the template tests (no S3, no files)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from stepsaga.sam import plain


def transformed(resources: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Generated resources through SAM's own transform (as `sam deploy` sends them to CloudFormation).

    The ASL becomes a one-state definition and code folders S3 URIs: the transform reads neither.
    """
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    doc = {"AWSTemplateFormatVersion": "2010-09-09", "Transform": "AWS::Serverless-2016-10-31", "Resources": copy.deepcopy(plain(resources))}
    for res in doc["Resources"].values():
        if res["Type"] == "AWS::Serverless::StateMachine":
            res["Properties"].pop("DefinitionUri")
            res["Properties"]["Definition"] = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}
        elif res["Type"] == "AWS::Serverless::Function":
            res["Properties"]["CodeUri"] = "s3://bucket/code.zip"
        elif res["Type"] == "AWS::Serverless::LayerVersion":
            res["Properties"]["ContentUri"] = "s3://bucket/layer.zip"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return Translator(None, Parser()).translate(doc, parameter_values={})
