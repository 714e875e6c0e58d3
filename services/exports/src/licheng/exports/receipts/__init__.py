"""收訖明細: the central database's receipts, students' confirmations and reports, staff answers."""
