"""The numbers of the services a choreography runs on: the one home of each, with its AWS page.

Standard library only (nothing, in fact): the model, the template, the adapter and the local bus read these.
"""

#: The largest PutEvents request: the sum of its entries' sizes, in bytes (256 KB).
#: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html
MAX_PUT_EVENTS_BYTES = 256 * 1024

#: Entries in one PutEvents request. https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html
MAX_PUT_EVENTS_ENTRIES = 10

#: The longest ``detail-type`` and ``source`` PutEvents takes, in characters.
#: https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsRequestEntry.html
MAX_DETAIL_TYPE_LENGTH = 128
MAX_SOURCE_LENGTH = 256

#: The longest visibility timeout of an SQS message, in seconds (12 hours): a retry's wait in a queue.
#: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-visibility-timeout.html
MAX_VISIBILITY_TIMEOUT_SECONDS = 43_200

#: The largest ``maxReceiveCount`` of an SQS redrive policy.
#: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html
MAX_RECEIVE_COUNT = 1000

#: Receives of a message beyond its step's attempts before it is dead-lettered: deliveries that end
#: without an attempt (a PutEvents that failed after the handler returned, a duplicate that waited).
SPARE_RECEIVES = 10

#: The longest a Lambda function runs, in seconds. https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
MAX_LAMBDA_TIMEOUT_SECONDS = 900

#: The seconds a consumer's Lambda runs past its step's timeout: the adapter's watchdog stops the handler
#: at the step's timeout, then records the attempt and emits its event in this margin.
CONSUMER_TIMEOUT_MARGIN_SECONDS = 10

#: A Lambda function's environment variables, all together, in bytes (4 KB).
#: https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
MAX_ENVIRONMENT_BYTES = 4 * 1024

#: The largest EventPattern PutRule takes, in characters.
#: https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html
MAX_EVENT_PATTERN_LENGTH = 4096

#: EventBridge keeps retrying a rule target for up to 24 hours and 185 attempts by default.
#: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html
TARGET_MAX_RETRY_ATTEMPTS = 185
TARGET_MAX_EVENT_AGE_SECONDS = 86_400

#: The longest event pattern an account's rules take by default, in characters (a quota that can be
#: raised, up to PutRule's MAX_EVENT_PATTERN_LENGTH). https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html
EVENT_PATTERN_DEFAULT_QUOTA = 2048

#: Numeric matching in an event pattern works on numbers from -5.0e9 to +5.0e9 inclusive.
#: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html#filtering-numeric-matching
NUMERIC_MATCH_LIMIT = 5.0e9
