//! Tests only PostgreSQL needs: placeholder, replaced below.
