# The DAG lives in the package (model_governance.dags); Airflow finds it as this file's module global.
from model_governance.dags.use_case_registration import dag as dag
