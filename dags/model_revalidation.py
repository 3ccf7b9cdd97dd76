# The DAG lives in the package (model_governance.dags); Airflow finds it as this file's module global.
from model_governance.dags.model_revalidation import dag as dag
