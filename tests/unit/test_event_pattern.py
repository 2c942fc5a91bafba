"""EventBridge event patterns: matching and validation, each case from the EventBridge User Guide page it cites."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stepsaga.choreography.pattern import Pattern, compile_pattern, exact_values, matches, validate, values_at
from stepsaga.errors import PatternError, StepsagaError

# The EventBridge User Guide's pages on event patterns, and the sections of the one on comparison operators.
GUIDE = "https://docs.aws.amazon.com/eventbridge/latest/userguide/"
PATTERNS, SYNTAX, OPERATORS, NULLS, ARRAYS = (GUIDE + page + ".html" for page in (
    "eb-event-patterns", "eb-create-pattern", "eb-create-pattern-operators", "eb-event-patterns-null-values", "eb-event-patterns-arrays"))
PREFIX, ANYTHING_BUT, NUMERIC, CIDR, EXISTS, WILDCARD, COMPLEX = (OPERATORS + "#" + section for section in (
    "eb-filtering-prefix-matching", "eb-filtering-anything-but", "filtering-numeric-matching", "eb-filtering-ip-matching",
    "eb-filtering-exists-matching", "eb-filtering-wildcard-matching", "eb-filtering-complex-example"))

EC2_EVENT = {
    "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718", "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2", "account": "111122223333", "time": "2017-12-22T18:43:48Z", "region": "us-west-1",
    "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
    "detail": {"instance-id": "i-1234567890abcdef0", "state": "terminated"},
}
EC2_TERMINATED = {"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"], "detail": {"state": ["terminated"]}}
AUTOSCALING_EVENT = {
    "version": "0", "id": "3e3c153a-8339-4e30-8c35-687ebef853fe", "detail-type": "EC2 Instance Launch Successful",
    "source": "aws.autoscaling", "account": "123456789012", "time": "2015-11-11T21:31:47Z", "region": "us-east-1",
    "resources": [], "detail": {"eventVersion": "", "responseElements": None},
}
EMPLOYEES = {"employees": [{"firstName": "John", "lastName": "Doe"}, {"firstName": "Anna", "lastName": "Smith"},
                           {"firstName": "Peter", "lastName": "Jones"}]}
COMPLEX_PATTERN = {
    "time": [{"prefix": "2017-10-02"}],
    "detail": {
        "state": [{"anything-but": "initializing"}],
        "c-count": [{"numeric": [">", 0, "<=", 5]}],
        "d-count": [{"numeric": ["<", 10]}],
        "x-limit": [{"anything-but": [100, 200, 300]}],
    },
}
COMPLEX_EVENT = {"time": "2017-10-02T16:24:49Z", "detail": {"state": "running", "c-count": 5, "d-count": 3, "x-limit": 301.8}}


def detail(**fields: object) -> dict:
    return {"detail": fields}


# (the page the rule comes from, pattern, event, whether EventBridge delivers the event)
MATCHES = [
    # --- fields, nesting and the envelope ---
    (PATTERNS, EC2_TERMINATED, EC2_EVENT, True),
    (PATTERNS, EC2_TERMINATED, {**EC2_EVENT, "detail": {"state": "running"}}, False),
    (SYNTAX, {"source": ["aws.ec2", "aws.fargate"]}, {"source": "aws.fargate"}, True),
    (SYNTAX, {"source": ["aws.ec2", "aws.fargate"]}, {"source": "aws.s3"}, False),
    (SYNTAX, {"detail": {"state": ["terminated"]}}, {"source": "aws.ec2"}, False),  # the event must contain every field named
    (SYNTAX, {"detail": {"state": ["terminated"]}}, {"state": "terminated"}, False),  # ... with the same nesting
    (SYNTAX, {"detail": {"state": ["terminated"]}}, {"detail": {"state": "Terminated"}}, False),  # no case-folding
    (SYNTAX, {"account": ["111122223333"], "region": ["us-west-1"], "time": [{"prefix": "2017-12-22"}]}, EC2_EVENT, True),
    (SYNTAX, {"account": ["999999999999"]}, EC2_EVENT, False),
    (PATTERNS, {"detail": {"risk-score": [80], "trigger": {"risk": [8]}}}, {"detail": {"risk-score": 80, "trigger": {"risk": 8}}}, True),
    (PATTERNS, {"detail": {"risk-score": [80], "trigger": {"risk": [8]}}}, {"detail": {"risk-score": 80, "trigger": {"risk": 9}}}, False),
    # keys are joined with dots: nested and dotted keys are the same field, in patterns and events alike
    (SYNTAX, {"detail": {"state.status": ["running"]}}, {"detail": {"state": {"status": "running"}}}, True),
    (SYNTAX, {"detail": {"state": {"status": ["running"]}}}, {"detail": {"state.status": "running"}}, True),
    (SYNTAX, {"detail.state.status": ["running"]}, {"detail": {"state.status": "running"}}, True),
    (SYNTAX, {"detail": {"state.status": ["running"]}}, {"detail": {"state": {"status": "stopped"}}}, False),
    # duplicate keys in the JSON text: the last one counts
    (SYNTAX, '{"source": ["aws.s3"], "source": ["aws.sns"]}', {"source": "aws.sns"}, True),
    (SYNTAX, '{"source": ["aws.s3"], "source": ["aws.sns"]}', {"source": "aws.s3"}, False),
    # --- JSON types are kept apart; numbers compare by value ---
    (SYNTAX, {"flag": [True]}, {"flag": True}, True),
    (SYNTAX, {"flag": [True]}, {"flag": "true"}, False),
    (SYNTAX, {"flag": [True]}, {"flag": 1}, False),
    (SYNTAX, {"count": [1]}, {"count": True}, False),
    (SYNTAX, {"count": [0]}, {"count": False}, False),
    (SYNTAX, {"count": ["1"]}, {"count": 1}, False),
    (SYNTAX, {"count": [1]}, {"count": "1"}, False),
    # The page says 300 and 300.0 differ, but TestEventPattern matches them (see pattern.py): by value here.
    (SYNTAX, {"count": [300]}, {"count": 300.0}, True),
    (SYNTAX, {"count": [300]}, {"count": 301}, False),
    # --- null versus missing, null versus the empty string ---
    (NULLS, {"detail": {"responseElements": [None]}}, AUTOSCALING_EVENT, True),
    (NULLS, {"detail": {"responseElements": [None]}}, {"detail": {}}, False),
    (NULLS, {"detail": {"eventVersion": [""]}}, AUTOSCALING_EVENT, True),
    (NULLS, {"detail": {"eventVersion": [""]}}, {"detail": {"eventVersion": None}}, False),
    (NULLS, {"detail": {"responseElements": [None]}}, {"detail": {"responseElements": ""}}, False),
    (NULLS, {"detail": {"responseElements": [None]}}, {"detail": {"responseElements": "null"}}, False),
    # --- arrays in the event: any element may match ---
    (ARRAYS, {"resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f", "arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f"]},
     {"resources": ["arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:x", "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f"]}, True),
    (ARRAYS, {"resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f"]}, {"resources": ["arn:aws:s3:::bucket"]}, False),
    (ARRAYS, {"resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f"]}, AUTOSCALING_EVENT, False),  # an empty array holds no value
    (ARRAYS, {"tags": [None]}, {"tags": ["x", None]}, True),
    # An array of objects is read element by element; two fields match only within one element (array-consistent).
    # The arrays page covers arrays of values; this is Event Ruler's "JSON Array Matching" (pattern.py, _walk).
    (ARRAYS, {"employees": {"firstName": ["Anna"]}}, EMPLOYEES, True),
    (ARRAYS, {"employees": {"firstName": ["Anna"], "lastName": ["Smith"]}}, EMPLOYEES, True),
    (ARRAYS, {"employees": {"firstName": ["Anna"], "lastName": ["Jones"]}}, EMPLOYEES, False),
    # --- prefix, suffix, equals-ignore-case ---
    (PREFIX, {"time": [{"prefix": "2017-10-02"}]}, {"time": "2017-10-02T18:43:48Z"}, True),
    (PREFIX, {"time": [{"prefix": "2017-10-02"}]}, {"time": "2017-10-03T18:43:48Z"}, False),
    (PREFIX, {"code": [{"prefix": "20"}]}, {"code": 2017}, False),  # prefix matching is for string values
    (PREFIX, {"detail": {"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}}, {"detail": {"service": "eventbridge"}}, True),
    (PREFIX, {"detail": {"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}}, {"detail": {"service": "lambda"}}, False),
    (OPERATORS, {"FileName": [{"suffix": ".png"}]}, {"FileName": "image.png"}, True),
    (OPERATORS, {"FileName": [{"suffix": ".png"}]}, {"FileName": "image.PNG"}, False),
    (OPERATORS, {"detail": {"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}}, {"detail": {"FileName": "IMAGE.PNG"}}, True),
    (OPERATORS, {"Name": [{"equals-ignore-case": "alice"}]}, {"Name": "ALICE"}, True),
    (OPERATORS, {"Name": [{"equals-ignore-case": "alice"}]}, {"Name": "alicia"}, False),
    (OPERATORS, {"LastName": [""]}, {"LastName": ""}, True),  # Empty
    (OPERATORS, {"PaymentType": ["Credit", "Debit"]}, {"PaymentType": "Debit"}, True),  # Or
    # --- anything-but ---
    (ANYTHING_BUT, detail(state=[{"anything-but": "initializing"}]), detail(state="running"), True),
    (ANYTHING_BUT, detail(state=[{"anything-but": "initializing"}]), detail(state="initializing"), False),
    (ANYTHING_BUT, detail(state=[{"anything-but": "initializing"}]), detail(other="x"), False),  # the field must be there
    (ANYTHING_BUT, detail(state=[{"anything-but": "initializing"}]), detail(state=None), True),  # anything except what is named
    (ANYTHING_BUT, detail(state=[{"anything-but": "initializing"}]), detail(state=["initializing", "running"]), True),
    (ANYTHING_BUT, detail(**{"x-limit": [{"anything-but": 123}]}), detail(**{"x-limit": 124}), True),
    (ANYTHING_BUT, detail(**{"x-limit": [{"anything-but": 123}]}), detail(**{"x-limit": 123}), False),
    (ANYTHING_BUT, detail(state=[{"anything-but": ["stopped", "overloaded"]}]), detail(state="overloaded"), False),
    (ANYTHING_BUT, detail(state=[{"anything-but": ["stopped", "overloaded"]}]), detail(state="running"), True),
    (ANYTHING_BUT, detail(**{"x-limit": [{"anything-but": [100, 200, 300]}]}), detail(**{"x-limit": 200}), False),
    (ANYTHING_BUT, detail(**{"x-limit": [{"anything-but": [100, 200, 300]}]}), detail(**{"x-limit": 150}), True),
    (ANYTHING_BUT, detail(state=[{"anything-but": {"prefix": "init"}}]), detail(state="initializing"), False),
    (ANYTHING_BUT, detail(state=[{"anything-but": {"prefix": "init"}}]), detail(state="running"), True),
    # a list for each nested operator: PutRule takes it, though the page shows single values (pattern.py, anything_but)
    (ANYTHING_BUT, detail(state=[{"anything-but": {"prefix": ["init", "test"]}}]), detail(state="testing"), False),
    (ANYTHING_BUT, detail(state=[{"anything-but": {"prefix": ["init", "test"]}}]), detail(state="post-init"), True),
    (ANYTHING_BUT, {"FileName": [{"anything-but": {"suffix": ".png"}}]}, {"FileName": "a.png"}, False),
    (ANYTHING_BUT, {"FileName": [{"anything-but": {"suffix": ".png"}}]}, {"FileName": "a.jpg"}, True),
    (ANYTHING_BUT, {"state": [{"anything-but": {"equals-ignore-case": "initializing"}}]}, {"state": "INITIALIZING"}, False),
    (ANYTHING_BUT, {"state": [{"anything-but": {"equals-ignore-case": ["initializing", "stopped"]}}]}, {"state": "Stopped"}, False),
    (ANYTHING_BUT, {"state": [{"anything-but": {"equals-ignore-case": "initializing"}}]}, {"state": "running"}, True),
    (ANYTHING_BUT, {"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}, {"FilePath": "/usr/lib/libc.so"}, False),
    (ANYTHING_BUT, {"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}, {"FilePath": "/usr/bin/env"}, True),
    (OPERATORS, {"Weather": [{"anything-but": ["Raining"]}]}, {"Weather": "Sunny"}, True),  # Not
    # --- numeric ---
    (NUMERIC, detail(**{"c-count": [{"numeric": [">", 0, "<=", 5]}]}), detail(**{"c-count": 5}), True),
    (NUMERIC, detail(**{"c-count": [{"numeric": [">", 0, "<=", 5]}]}), detail(**{"c-count": 0}), False),
    (NUMERIC, detail(**{"c-count": [{"numeric": [">", 0, "<=", 5]}]}), detail(**{"c-count": 5.000001}), False),
    (NUMERIC, detail(**{"d-count": [{"numeric": ["<", 10]}]}), detail(**{"d-count": 9.99}), True),
    (NUMERIC, detail(**{"x-limit": [{"numeric": ["=", 3.018e2]}]}), detail(**{"x-limit": 301.8}), True),
    (NUMERIC, {"Price": [{"numeric": ["=", 100]}]}, {"Price": 100.0}, True),
    (NUMERIC, {"Price": [{"numeric": [">=", 10]}]}, {"Price": 10}, True),
    (NUMERIC, {"Price": [{"numeric": [">=", 10, "<=", 10]}]}, {"Price": 10}, True),
    (NUMERIC, {"Price": [{"numeric": ["<=", 20, ">", 10]}]}, {"Price": 15}, True),
    (NUMERIC, {"Price": [{"numeric": [">", 10]}]}, {"Price": 10}, False),
    (NUMERIC, {"Price": [{"numeric": [">", 10]}]}, {"Price": "20"}, False),  # only JSON numbers
    (NUMERIC, {"Price": [{"numeric": [">", 0]}]}, {"Price": True}, False),
    (NUMERIC, {"Price": [{"numeric": [">", 0]}]}, {"Price": 6.0e9}, False),  # beyond +5.0e9
    (NUMERIC, {"Price": [{"numeric": ["<", 0]}]}, {"Price": -5.0e9}, True),  # -5.0e9 is inclusive
    # --- IP addresses ---
    (CIDR, detail(sourceIPAddress=[{"cidr": "10.0.0.0/24"}]), detail(sourceIPAddress="10.0.0.255"), True),
    (CIDR, detail(sourceIPAddress=[{"cidr": "10.0.0.0/24"}]), detail(sourceIPAddress="10.0.1.1"), False),
    (CIDR, detail(sourceIPAddress=[{"cidr": "2001:db8:1234:1a00::/64"}]), detail(sourceIPAddress="2001:0db8:1234:1a00:0000:0000:0000:0001"), True),
    (CIDR, detail(sourceIPAddress=[{"cidr": "2001:db8:1234:1a00::/64"}]), detail(sourceIPAddress="2001:db8:1234:1b00::1"), False),
    (CIDR, detail(sourceIPAddress=[{"cidr": "10.0.0.0/8"}]), detail(sourceIPAddress="::ffff:10.0.0.1"), False),  # IPv6 text
    (CIDR, detail(sourceIPAddress=[{"cidr": "10.0.0.0/8"}]), detail(sourceIPAddress="not an address"), False),
    (CIDR, detail(sourceIPAddress=[{"cidr": "10.0.0.0/8"}]), detail(sourceIPAddress=167772161), False),
    # --- exists: on leaf nodes only ---
    (EXISTS, detail(state=[{"exists": True}]), detail(state="pending"), True),
    (EXISTS, detail(state=[{"exists": True}]), detail(state=["initializing", "running"]), True),
    (EXISTS, detail(state=[{"exists": True}]), detail(**{"c-count": {"c1": 100}}), False),
    (EXISTS, detail(state=[{"exists": True}]), detail(state=None), True),  # null is a value
    (EXISTS, detail(**{"c-count": [{"exists": False}]}), detail(state="running"), True),
    (EXISTS, detail(**{"c-count": [{"exists": False}]}), detail(**{"c-count": 1}), False),
    (EXISTS, detail(**{"c-count": [{"exists": False}]}), detail(**{"c-count": {"c1": 100}}), True),  # c-count is no leaf
    (EXISTS, detail(**{"c-count": [{"exists": True}]}), detail(**{"c-count": {"c1": 100}}), False),
    (EXISTS, {"resources": [{"exists": True}]}, AUTOSCALING_EVENT, False),  # [] holds no leaf
    (EXISTS, {"resources": [{"exists": False}]}, AUTOSCALING_EVENT, True),
    (EXISTS, detail(state=["stopped", {"exists": False}]), detail(), True),  # the values of a field are alternatives
    # --- wildcard ---
    (WILDCARD, {"City": [{"wildcard": "Seattle*"}]}, {"City": "Seattle, WA"}, True),
    (WILDCARD, {"City": [{"wildcard": "Seattle*"}]}, {"City": "New Seattle"}, False),
    (WILDCARD, {"FileName": [{"wildcard": "*.png"}]}, {"FileName": "dir/a.png"}, True),
    (WILDCARD, {"key": [{"wildcard": "dir/*/file"}]}, {"key": "dir/a/b/file"}, True),
    (WILDCARD, {"title": [{"wildcard": "*Title*"}]}, {"title": "My Title here"}, True),
    (WILDCARD, {"title": [{"wildcard": "ab*ba"}]}, {"title": "aba"}, False),  # the parts may not overlap
    (WILDCARD, {"title": [{"wildcard": "ab*ba"}]}, {"title": "abba"}, True),
    (WILDCARD, {"title": [{"wildcard": "a*b*a"}]}, {"title": "aba"}, True),  # a * may match nothing
    (WILDCARD, {"name": [{"wildcard": "a\\*b"}]}, {"name": "a*b"}, True),  # \* is a literal *
    (WILDCARD, {"name": [{"wildcard": "a\\*b"}]}, {"name": "axb"}, False),
    (WILDCARD, {"name": [{"wildcard": "a\\\\b"}]}, {"name": "a\\b"}, True),  # \\ is a literal backslash
    (WILDCARD, {"name": [{"wildcard": "\\**"}]}, {"name": "*and more"}, True),  # a literal *, then a wildcard
    (WILDCARD, {"name": [{"wildcard": "\\**"}]}, {"name": "and more"}, False),
    (WILDCARD, {"name": [{"wildcard": "*"}]}, {"name": ""}, True),
    (WILDCARD, {"name": [{"wildcard": "*"}]}, {"name": 5}, False),
    # --- $or ---
    (OPERATORS, {"$or": [{"Location": ["New York"]}, {"Day": ["Monday"]}]}, {"Location": "Paris", "Day": "Monday"}, True),
    (OPERATORS, {"$or": [{"Location": ["New York"]}, {"Day": ["Monday"]}]}, {"Location": "Paris", "Day": "Sunday"}, False),
    (OPERATORS, {"source": ["aws.cloudwatch"], "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}]},
     {"source": "aws.ec2", "namespace": "AWS/EC2"}, False),
    (OPERATORS, {"detail": {"$or": [{"c-count": [{"numeric": [">", 0, "<=", 5]}]}, {"d-count": [{"numeric": ["<", 10]}]}]}},
     detail(**{"c-count": 9, "d-count": 3}), True),
    (OPERATORS, {"$or": [{"a": ["1"]}, {"b": ["2"], "$or": [{"c": ["3"]}, {"d": ["4"]}]}]}, {"b": "2", "d": "4"}, True),
    (OPERATORS, {"$or": [{"a": ["1"]}, {"b": ["2"], "$or": [{"c": ["3"]}, {"d": ["4"]}]}]}, {"b": "2", "e": "5"}, False),
    (OPERATORS, {"$or": [{"detail": {"kind": ["x"]}}, {"detail": {"kind": [{"exists": False}]}}]}, detail(), True),
    # --- several operators together ---
    (COMPLEX, COMPLEX_PATTERN, COMPLEX_EVENT, True),
    (COMPLEX, COMPLEX_PATTERN, {**COMPLEX_EVENT, "detail": {**COMPLEX_EVENT["detail"], "x-limit": 300}}, False),
    (COMPLEX, COMPLEX_PATTERN, {**COMPLEX_EVENT, "time": "2017-10-03T00:00:00Z"}, False),
]


@pytest.mark.parametrize(("doc", "pattern", "event", "expected"), MATCHES, ids=[f"{i}-{row[0].rsplit('/', 1)[-1]}" for i, row in enumerate(MATCHES)])
def test_matches_as_eventbridge_does(doc, pattern, event, expected):
    assert matches(pattern, event) is expected
    assert validate(pattern) == []


def test_the_table_covers_the_pages_and_both_answers():
    assert len(MATCHES) >= 60
    assert {row[0] for row in MATCHES} >= {PATTERNS, SYNTAX, OPERATORS, PREFIX, ANYTHING_BUT, NUMERIC, CIDR, EXISTS, WILDCARD, COMPLEX, NULLS, ARRAYS}
    assert sum(row[3] for row in MATCHES) > 40 and sum(not row[3] for row in MATCHES) > 40


# (page, pattern, the one reason PutRule rejects it for)
INVALID = [
    (SYNTAX, [{"source": ["a"]}], 'is an array, not a JSON object; write a JSON object, for example {"source": ["shop.orders"]}'),
    (SYNTAX, '{"source": ["a"', "is not JSON (Expecting ',' delimiter at line 1 column 16); write a JSON object, for example {\"source\": [\"shop.orders\"]}"),
    (SYNTAX, {}, 'has no fields; name at least one, for example {"source": ["shop.orders"]}'),
    (SYNTAX, {"source": "aws.ec2"}, 'source: is "aws.ec2", not an array of values; write ["aws.ec2"] (the value of a field is an array or an object)'),
    (SYNTAX, {"resources": []}, "resources: is an empty array, which EventBridge rejects; list at least one value to match"),
    (SYNTAX, {"detail": {}}, "detail: is an empty object; give it a field to match, or remove it"),
    (SYNTAX, {"detail": {"state": {"prefix": "run"}}}, 'detail.state.prefix: is "run", an operator outside an array; write "state": [{"prefix": "run"}]'),
    (SYNTAX, {"detail": {"state": [["a", "b"]]}},
     'detail.state[0]: is an array; a field\'s values are strings, numbers, booleans, null or one-operator objects such as {"prefix": "a"}, in one array'),
    (OPERATORS, {"detail": {"amount": [{"numerc": [">", 0]}]}}, "detail.amount[0]: unknown operator 'numerc'; did you mean 'numeric'?"),
    (OPERATORS, {"detail": {"amount": [{"NUMERIC": ["=", 5]}]}}, "detail.amount[0]: unknown operator 'NUMERIC'; did you mean 'numeric'?"),
    (OPERATORS, {"name": [{"contains": "a"}]}, "name[0]: unknown operator 'contains'; write one of anything-but, cidr, equals-ignore-case, exists, numeric, prefix, suffix, wildcard"),
    (OPERATORS, {"name": [{}]}, 'name[0]: is an empty object; write one operator, for example {"prefix": "a"}'),
    (OPERATORS, {"name": [{"prefix": "a", "suffix": "b"}]},
     'name[0]: has 2 operators (prefix, suffix), but a filter object takes one; give each its own object in the array, where they are alternatives '
     '(for a prefix and a suffix together, one {"wildcard": "a*b"})'),
    (PREFIX, {"time": [{"prefix": 2017}]}, 'time[0]: prefix is 2017, not a string; write {"prefix": "us-"} or {"prefix": {"equals-ignore-case": "us-"}}'),
    (PREFIX, {"time": [{"prefix": ["2017"]}]}, 'time[0]: prefix is ["2017"], not a string; write {"prefix": "us-"} or {"prefix": {"equals-ignore-case": "us-"}}'),
    (OPERATORS, {"f": [{"suffix": {"ignore-case": ".png"}}]},
     'f[0]: suffix is {"ignore-case": ".png"}, but the one object suffix takes is {"equals-ignore-case": "..."}; write {"suffix": "us-"} or {"suffix": {"equals-ignore-case": "us-"}}'),
    (OPERATORS, {"name": [{"equals-ignore-case": ["alice"]}]}, 'name[0]: equals-ignore-case is ["alice"], not a string; write {"equals-ignore-case": "alice"}, one object per value'),
    (EXISTS, {"detail": {"state": [{"exists": "true"}]}}, 'detail.state[0]: exists is "true", not a boolean; write {"exists": true} or {"exists": false}'),
    (NUMERIC, {"n": [{"numeric": [">", "5"]}]}, 'n[0]: numeric > is followed by "5", not a number; write for example [">", 5]'),
    (NUMERIC, {"n": [{"numeric": [">", 0, "<"]}]}, 'n[0]: numeric is [">", 0, "<"]; write a comparison and a number, or two for a range: ["=", 100] or [">", 0, "<=", 5]'),
    (NUMERIC, {"n": [{"numeric": ["==", 5]}]}, 'n[0]: numeric has the comparison "=="; write one of =, <, <=, >, >='),
    (NUMERIC, {"n": [{"numeric": [">", 0, ">", 1]}]}, 'n[0]: numeric [">", 0, ">", 1] has two lower bounds; a range is one of > or >= and one of < or <=, such as [">", 0, "<=", 5]'),
    (NUMERIC, {"n": [{"numeric": ["=", 5, "<", 9]}]}, 'n[0]: numeric ["=", 5, "<", 9] joins = with another comparison; write ["=", 5] alone, or a range such as [">=", 5, "<", 10]'),
    (NUMERIC, {"n": [{"numeric": [">", 10, "<=", 5]}]}, 'n[0]: numeric [">", 10, "<=", 5] matches no number, its lower bound is not below its upper bound; swap or widen them'),
    (NUMERIC, {"n": [{"numeric": [">=", 6, "<", 5.5]}]}, 'n[0]: numeric [">=", 6, "<", 5.5] matches no number, its lower bound is not below its upper bound; swap or widen them'),
    (NUMERIC, {"n": [{"numeric": [">", 5, "<=", 5]}]}, 'n[0]: numeric [">", 5, "<=", 5] matches no number, its lower bound is not below its upper bound; swap or widen them'),
    (NUMERIC, {"n": [{"numeric": ["<", 5, ">", 5]}]}, 'n[0]: numeric ["<", 5, ">", 5] matches no number, its lower bound is not below its upper bound; swap or widen them'),
    (NUMERIC, {"n": [{"numeric": ["<", 6e9]}]}, "n[0]: numeric < 6000000000.0 is outside -5.0e9 to 5.0e9, the numbers numeric matching works on; compare within that range"),
    (CIDR, {"ip": [{"cidr": "10.0.0.0"}]}, 'ip[0]: cidr "10.0.0.0" is not an address, one \'/\' and the mask bits; write for example {"cidr": "10.0.0.0/24"} or {"cidr": "2001:db8::/32"}'),
    (CIDR, {"ip": [{"cidr": "xx.11.xx/24"}]}, 'ip[0]: cidr "xx.11.xx/24" has \'xx.11.xx\', which is not an IPv4 or IPv6 address; write for example {"cidr": "10.0.0.0/24"} or {"cidr": "2001:db8::/32"}'),
    (CIDR, {"ip": [{"cidr": "10.0.0.0/x"}]}, 'ip[0]: cidr "10.0.0.0/x" has the mask bits \'x\', not a whole number; write for example {"cidr": "10.0.0.0/24"} or {"cidr": "2001:db8::/32"}'),
    (CIDR, {"ip": [{"cidr": "2001:db8::/129"}]}, 'ip[0]: cidr "2001:db8::/129" has 129 mask bits, but an IPv6 address has 128; write /0 to /128'),
    (CIDR, {"ip": [{"cidr": ["10.0.0.0/8"]}]}, 'ip[0]: cidr is ["10.0.0.0/8"], not a string; write for example {"cidr": "10.0.0.0/24"} or {"cidr": "2001:db8::/32"}'),
    (WILDCARD, {"arn": [{"wildcard": "arn:aws:events:*:**:event-bus/*"}]},
     'arn[0]: wildcard "arn:aws:events:*:**:event-bus/*" has consecutive wildcard characters at character 19, which EventBridge does not support; write one *'),
    (WILDCARD, {"path": [{"wildcard": "C:\\dir\\*"}]},
     'path[0]: wildcard "C:\\\\dir\\\\*" escapes \'d\' at character 3, but a backslash escapes only * and \\; write \\\\ for a backslash'),
    (WILDCARD, {"path": [{"wildcard": "end\\"}]}, 'path[0]: wildcard "end\\\\" ends in a lone backslash; write \\\\ for a backslash, \\* for a star'),
    (WILDCARD, {"path": [{"wildcard": 123}]}, 'path[0]: wildcard is 123, not a string; write {"wildcard": "*.png"}'),
    (ANYTHING_BUT, {"s": [{"anything-but": [1, "a"]}]}, 's[0]: anything-but lists [1, "a"], which holds numbers and strings; it takes a list of only strings or only numbers'),
    (ANYTHING_BUT, {"s": [{"anything-but": ["a", None]}]}, 's[0]: anything-but lists ["a", null], which holds nulls and strings; it takes a list of only strings or only numbers'),
    (ANYTHING_BUT, {"s": [{"anything-but": None}]},
     's[0]: anything-but is null; anything-but takes a string, a number, a list of strings or of numbers, or one of prefix, suffix, '
     'equals-ignore-case and wildcard, such as {"anything-but": {"prefix": "init"}}'),
    (ANYTHING_BUT, {"s": [{"anything-but": []}]}, "s[0]: anything-but is an empty list; list the values to exclude"),
    (ANYTHING_BUT, {"s": [{"anything-but": {"prefix": ""}}]}, "s[0]: anything-but prefix is an empty string, which EventBridge rejects; give the prefix to exclude"),
    (ANYTHING_BUT, {"s": [{"anything-but": {"prefix": {"equals-ignore-case": "file"}}}]},
     's[0]: anything-but prefix is {"equals-ignore-case": "file"}, not a string or a list of strings; write {"anything-but": {"prefix": "init"}}'),
    (ANYTHING_BUT, {"s": [{"anything-but": {"prefx": "init"}}]}, "s[0]: anything-but cannot nest 'prefx'; did you mean 'prefix'?"),
    (ANYTHING_BUT, {"s": [{"anything-but": {"wildcard": "a**"}}]},
     's[0]: anything-but wildcard "a**" has consecutive wildcard characters at character 3, which EventBridge does not support; write one *'),
    (OPERATORS, {"$or": [{"a": ["x"]}]}, '$or: has 1 pattern, but $or chooses between two or more; write "$or": [{"a": ["x"]}, {"b": ["y"]}], or drop the $or'),
    (OPERATORS, {"$or": {"a": ["x"]}}, '$or: is an object, not an array of patterns; write "$or": [{"a": ["x"]}, {"b": ["y"]}]'),
    (OPERATORS, {"detail": {"$or": [{"a": ["x"]}, "b"]}}, 'detail.$or[1]: is the string "b", not a pattern object; write "$or": [{"a": ["x"]}, {"b": ["y"]}]'),
    (OPERATORS, {"a": [{"$or": [{"b": ["x"]}, {"c": ["y"]}]}]}, 'a[0]: is a $or inside a field\'s values; put "$or": [{...}, {...}] beside the fields it chooses between'),
]


@pytest.mark.parametrize(("doc", "pattern", "reason"), INVALID, ids=[f"{i}-{row[0].rsplit('/', 1)[-1]}" for i, row in enumerate(INVALID)])
def test_an_invalid_pattern_has_its_reason(doc, pattern, reason):
    assert validate(pattern) == [reason]
    with pytest.raises(PatternError) as caught:
        matches(pattern, {"source": "x"})
    assert caught.value.reasons == (reason,)


def test_the_invalid_table_is_large_enough():
    assert len(INVALID) >= 20


def test_every_reason_is_listed_at_once_each_at_its_path():
    pattern = {"source": "a", "detail": {"amount": [{"numerc": 1}], "$or": [{"x": []}, {"y": [{"exists": 1}]}]}}
    assert validate(pattern) == [
        'source: is "a", not an array of values; write ["a"] (the value of a field is an array or an object)',
        "detail.amount[0]: unknown operator 'numerc'; did you mean 'numeric'?",
        "detail.$or[0].x: is an empty array, which EventBridge rejects; list at least one value to match",
        'detail.$or[1].y[0]: exists is 1, not a boolean; write {"exists": true} or {"exists": false}',
    ]


def test_the_size_quota_counts_the_text_or_the_compact_json():
    # https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html: 2048 characters unless raised
    values = [f"v{i:04}" for i in range(290)]
    pattern = {"source": values}
    size = len(json.dumps(pattern, separators=(",", ":")))
    assert 2048 < size <= 4096
    assert validate(pattern) == [
        f"is {size} characters long, over the 2048-character quota of an event pattern; shorten it, or raise the account's quota (PutRule takes at most 4096)"
    ]
    assert validate(pattern, max_length=4096) == []
    assert validate(json.dumps(pattern, indent=2), max_length=size) != []  # JSON text counts as written
    assert validate({"source": values[:200]}) == []


def test_pattern_error_is_a_stepsaga_value_error_listing_every_reason():
    with pytest.raises(PatternError) as caught:
        compile_pattern({"a": "x", "b": []})
    assert isinstance(caught.value, StepsagaError) and isinstance(caught.value, ValueError)
    assert len(caught.value.reasons) == 2 and str(caught.value) == "\n".join(caught.value.reasons)


def test_a_compiled_pattern_matches_many_events_and_keeps_its_pattern():
    compiled = compile_pattern(json.dumps(EC2_TERMINATED))
    assert isinstance(compiled, Pattern) and compiled.pattern == EC2_TERMINATED
    assert [compiled.matches({**EC2_EVENT, "detail": {"state": s}}) for s in ("terminated", "running", "terminated")] == [True, False, True]
    assert matches(compiled, EC2_EVENT) is True
    with pytest.raises(TypeError, match="an event is a JSON object, not an array"):
        compiled.matches([EC2_EVENT])  # type: ignore[arg-type]


def test_mutating_the_source_pattern_does_not_change_the_compiled_one():
    source = {"detail": {"state": [{"anything-but": {"prefix": ["init"]}}], "kind": ["a"]}}
    compiled = compile_pattern(source)
    source["detail"]["state"][0]["anything-but"]["prefix"].append("run")
    source["detail"]["kind"].append("b")
    assert compiled.matches(detail(state="running", kind="a")) and not compiled.matches(detail(state="x", kind="b"))


# --- exact_values: what a bus may index a rule on ---


@pytest.mark.parametrize(("pattern", "field", "expected"), [
    (EC2_TERMINATED, "source", frozenset({"aws.ec2"})),
    (EC2_TERMINATED, "detail-type", frozenset({"EC2 Instance State-change Notification"})),
    ({"source": ["a", "b"]}, "source", frozenset({"a", "b"})),
    ({"source": ["a"]}, "detail-type", None),
    ({"source": [{"prefix": "a"}]}, "source", None),
    ({"source": ["a", {"prefix": "b"}]}, "source", None),
    ({"source": ["a", 1]}, "source", None),
    ({"source": ["a", None]}, "source", None),
    ({"source": ["a", {"exists": False}]}, "source", None),
    ({"$or": [{"source": ["a"]}, {"source": ["b"]}]}, "source", frozenset({"a", "b"})),
    ({"$or": [{"source": ["a"]}, {"detail-type": ["b"]}]}, "source", None),  # the second branch leaves source free
    ({"source": ["a", "b"], "$or": [{"source": ["b"]}, {"x": ["y"]}]}, "source", frozenset({"a", "b"})),
    ({"source": ["a", "b", "c"], "$or": [{"source": ["b"]}, {"source": ["c"]}]}, "source", frozenset({"b", "c"})),
    ({"detail": {"saga": ["S"]}}, "detail.saga", frozenset({"S"})),
])
def test_exact_values(pattern, field, expected):
    assert exact_values(pattern, field) == expected


def test_exact_values_of_a_field_filtered_twice_is_one_filter_not_their_intersection():
    # Each filter of an array field may meet another element: ["a", "c"] meets both, so "b" alone would exclude it.
    pattern = {"detail.kind": ["a", "b"], "$or": [{"detail": {"kind": ["b"]}}, {"detail": {"kind": ["c"]}}]}
    event = {"detail": {"kind": ["a", "c"]}}
    assert matches(pattern, event)
    assert set(values_at(event, "detail.kind")) & exact_values(pattern, "detail.kind")


def test_values_at_reads_dotted_and_nested_keys_and_flattens_arrays():
    event = {"detail": {"state": {"status": "a"}, "state.status": ["b", ["c"], {"no": "leaf"}]}, "source": "s"}
    assert sorted(values_at(event, "detail.state.status")) == ["a", "b", "c"]
    assert values_at(event, "source") == ["s"] and values_at(event, "missing") == [] and values_at(event, "detail") == []


# --- properties ---

_TEXT = st.sampled_from(["a", "b", "ab", "A", ""])
_VALUE = st.one_of(_TEXT, st.integers(-2, 2), st.booleans(), st.none())
_FILTER = st.one_of(
    _VALUE,
    st.builds(lambda t: {"prefix": t}, _TEXT),
    st.builds(lambda t: {"equals-ignore-case": t}, _TEXT),
    st.builds(lambda b: {"exists": b}, st.booleans()),
    st.builds(lambda t: {"anything-but": t}, st.sampled_from(["a", "b"])),
    st.builds(lambda n: {"numeric": [">", n]}, st.integers(-2, 2)),
)
_FIELDS = st.sampled_from(["source", "detail-type", "detail.kind"])


def _object(depth: int) -> st.SearchStrategy:
    leaf = st.dictionaries(_FIELDS, st.lists(_FILTER, min_size=1, max_size=3), min_size=1, max_size=2)
    if depth == 0:
        return leaf
    return st.one_of(leaf, st.builds(lambda base, branches: {**base, "$or": branches}, st.dictionaries(_FIELDS, st.lists(_FILTER, min_size=1, max_size=2), max_size=1),
                                     st.lists(_object(depth - 1), min_size=2, max_size=3)))


_EVENT_VALUE = st.one_of(_VALUE, st.lists(_VALUE, max_size=3))
_EVENT = st.fixed_dictionaries({}, optional={"source": _EVENT_VALUE, "detail-type": _EVENT_VALUE,
                                             "detail": st.fixed_dictionaries({}, optional={"kind": _EVENT_VALUE})})


@settings(max_examples=400, deadline=None)
@given(_object(2), _EVENT, _FIELDS)
def test_exact_values_never_excludes_an_event_the_pattern_matches(pattern, event, field):
    assert validate(pattern) == []
    pinned = exact_values(pattern, field)
    if pinned is not None and matches(pattern, event):
        assert set(v for v in values_at(event, field) if isinstance(v, str)) & pinned


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "*", "\\*", "\\\\", "ab", "."]), max_size=6).map("".join), st.text("ab*\\.", max_size=8))
def test_wildcard_matches_as_a_whole_string_glob(wildcard, value):
    pattern = {"name": [{"wildcard": wildcard}]}
    tokens = re.findall(r"\\[*\\]|.", wildcard, re.S)  # an escape, or one character
    if any(a == b == "*" for a, b in zip(tokens, tokens[1:])):
        assert "consecutive wildcard characters" in validate(pattern)[0]
        return
    # the reference: a regular expression where only an unescaped * is a wildcard
    regex = "".join(".*" if tok == "*" else re.escape(tok[-1]) for tok in tokens)
    assert matches(pattern, {"name": value}) is (re.fullmatch(regex, value, re.S) is not None)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([">", ">=", "<", "<=", "="]), st.integers(-100, 100), st.one_of(st.integers(-100, 100), st.floats(-100, 100)))
def test_numeric_compares_as_the_comparison_says(op, bound, value):
    expected = {">": value > bound, ">=": value >= bound, "<": value < bound, "<=": value <= bound, "=": value == bound}[op]
    assert matches({"n": [{"numeric": [op, bound]}]}, {"n": value}) is expected
