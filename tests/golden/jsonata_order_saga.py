"""The reference order saga in JSONata: its compiled ASL is the golden file beside this one.

    stepsaga compile tests/golden/jsonata_order_saga.py -o tests/golden/order_saga_jsonata.asl.json
"""

import workflows.order_saga as reference

saga = reference.saga.replace(query_language="JSONata")
