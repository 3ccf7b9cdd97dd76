"""Model revalidation: every Deployed model revalidated at the interval its risk level sets.

Daily: the Deployed models due (``revalidation.interval_days`` after deployment or their last approved
revalidation, e.g. High every 90 days; picked up ``revalidation.lead_days`` early; overdue first) are
listed, and per model (mapped) the standard risk tests run on its latest production data (the package's
``PRODUCTION_DATA`` metadata) against its snapshot's baseline, the revalidation document is rendered and
stored, and a REVALIDATION approval ticket is opened and waited for in the triggerer. Done: the model is
revalidated for one more interval; the approval expires then. A model whose revalidation is running is not
picked again; one left past its due date is urgent on the governance dashboard.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG

from model_governance.notifications.email import notify_task_failure
from model_governance.operators.revalidation import DueRevalidationsOperator, RevalidateModelOperator

with DAG(
    dag_id="model_revalidation",
    description="Periodic revalidation of Deployed models: risk tests on production data, document, approval",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={
        "on_failure_callback": notify_task_failure,
        "retries": 2,
        "retry_delay": pendulum.duration(seconds=30),
    },
    tags=["model-governance"],
    doc_md=__doc__,
) as dag:
    due = DueRevalidationsOperator(task_id="due_models")
    RevalidateModelOperator.partial(task_id="revalidate").expand(model_id=due.output)
