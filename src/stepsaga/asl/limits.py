"""The numeric limits of the States Language and of Step Functions: the one home of each number.

Standard library only (nothing, in fact): the compiler, the linter and the local runtime all read these.
"""

#: The largest whole number ASL takes in IntervalSeconds, MaxAttempts, TimeoutSeconds and HeartbeatSeconds,
#: and the TimeoutSeconds a Task has when it names none.
#: https://states-language.net/spec.html#retrying-after-error,
#: https://docs.aws.amazon.com/step-functions/latest/dg/state-task.html
ASL_MAX_INT = 99_999_999

#: The largest MaxDelaySeconds of a retrier, in seconds (a year).
#: https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html#error-handling-retrying-after-an-error
MAX_DELAY_SECONDS = 31_622_400

#: The longest an Express execution runs, in seconds (five minutes).
#: https://docs.aws.amazon.com/step-functions/latest/dg/choosing-workflow-type.html
EXPRESS_MAX_SECONDS = 300

#: The payload quota: every state's input and output, each task result and StartExecution's input are at
#: most 256 KiB of UTF-8, inclusive. https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html
MAX_PAYLOAD_BYTES = 256 * 1024

#: The longest state name, and the longest execution name StartExecution takes, in characters.
#: https://states-language.net/spec.html ("A state name MUST have length of less than or equal to 80"),
#: https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html
MAX_NAME_LENGTH = 80
