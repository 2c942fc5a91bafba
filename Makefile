# Setup is two commands: `make demo` and `make test`. Each creates .venv and installs what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.stepsaga-installed

.PHONY: demo test template bench venv clean graphviz

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "stepsaga needs Python 3.11 or newer as $(PYTHON)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

# Each scenario runs as an orchestration and as a choreography, side by side, with the same saga id.
RUN := $(BIN)/stepsaga run workflows/order_saga.py --mode both

demo: $(STAMP)
	$(BIN)/stepsaga compile workflows/order_saga.py -o asl/
	$(BIN)/stepsaga graph workflows/order_saga.py
	@$(RUN) --title "1. happy path" --input @workflows/inputs/order.json
	@$(RUN) --title "2. the payment is declined" --input @workflows/inputs/order.json --fail ProcessPayment=PaymentDeclined
	@$(RUN) --title "3. the payment gateway times out twice, then succeeds" --input @workflows/inputs/order.json --fail ProcessPayment=PaymentGatewayTimeout@2
	@$(RUN) --title "4. out of stock (the real handler says so)" --input @workflows/inputs/too_many.json
	@$(RUN) --title "5. the notification fails for good: dead-lettered, order kept" --input @workflows/inputs/order.json --fail SendNotification=SmtpUnavailable
	@$(RUN) --title "6. a refund fails for good: SagaCompensationFailed, repair record dead-lettered" --input @workflows/inputs/too_many.json --fail RefundPayment=RefundGatewayDown
	@$(RUN) --title "7. a malformed order fails validation before any side effect" --input @workflows/inputs/invalid_order.json

# mermaid's own parser checks `stepsaga graph --mode choreography` (tests/unit/test_choreography_graph.py).
MERMAID := tests/mermaid/node_modules/.package-lock.json

$(MERMAID): tests/mermaid/package-lock.json
	@command -v npm >/dev/null || { echo "make test needs npm (Node.js) for mermaid's parser"; exit 1; }
	npm ci --prefix tests/mermaid --no-audit --no-fund --loglevel=error

# asl-validator checks the compiled ASL's JSONata expressions, which statelint does not (tests/unit/test_asl_validator.py).
ASL_VALIDATOR := tests/asl-validator/node_modules/.package-lock.json

$(ASL_VALIDATOR): tests/asl-validator/package-lock.json
	@command -v npm >/dev/null || { echo "make test needs npm (Node.js) for asl-validator"; exit 1; }
	npm ci --prefix tests/asl-validator --no-audit --no-fund --loglevel=error


# Graphviz's dot draws `stepsaga graph --format svg|png` and `stepsaga run --svg`: installed with apt-get where missing.
graphviz:
	@scripts/ensure-graphviz.sh

test: $(STAMP) $(MERMAID) $(ASL_VALIDATOR) graphviz
	$(BIN)/stepsaga check
	PYTHON=$(PYTHON) scripts/lint-template.sh
	$(BIN)/python -m pytest

template: $(STAMP)
	$(BIN)/stepsaga template

bench: $(STAMP)
	$(BIN)/python bench/compile.py
	$(BIN)/python bench/local_runtime.py
	$(BIN)/python bench/choreography.py

clean:
	rm -rf $(VENV) .pytest_cache .aws-sam build src/*.egg-info
