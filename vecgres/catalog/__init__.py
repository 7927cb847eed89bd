"""The single catalog: schemas, tables, columns, sequences, views, indexes.

A ``Catalog`` is an immutable value: DDL makes a changed copy, and the copy
becomes visible when storage commits its serialized form together with the
data (the catalog blob travels in WAL records and in the manifest). Only this
package knows how names map to objects. Imports: vecgres.types/config/errors.
"""
