-- Rendered with Jinja by OutlitQueryOperator (template_ext=".sql"); must stay a single read-only SELECT.
SELECT *
FROM customers
WHERE billing_status = 'PAYING'
ORDER BY mrr_cents DESC
LIMIT {{ params.top_n }}
