"""schemathesis hooks for scripts/fuzz-api.sh (SCHEMATHESIS_HOOKS).

An attachment's body is the content itself, declared `application/pdf` in
/openapi.json: schemathesis has no serializer for it, so bodies are drawn
here as PDFs would start (their magic bytes), followed by any bytes.
"""

from hypothesis import strategies as st

import schemathesis

schemathesis.openapi.media_type(
    "application/pdf",
    st.binary(max_size=4096).map(lambda rest: b"%PDF-1.7\n" + rest),
)
