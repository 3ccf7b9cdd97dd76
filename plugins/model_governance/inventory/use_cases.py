"""Business entities (one registry each), use cases and their model package groups."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from model_governance.config import RiskLevel
from model_governance.exceptions import (
    ConflictError,
    DuplicateUseCaseError,
    InvalidInputError,
    NotFoundError,
)
from model_governance.inventory.arns import check_group_arn
from model_governance.inventory.base import InventoryBase, require
from model_governance.inventory.models import (
    BusinessEntity,
    Model,
    ModelGroup,
    UseCase,
    UseCaseStatus,
)


class UseCases(InventoryBase):
    """Business entities, use cases and model groups."""

    def ensure_business_entity(
        self, *, name: str, account_id: str, region: str, aws_conn_id: str, role_arn: str | None = None
    ) -> BusinessEntity:
        """Create the business entity, or bring its registry settings up to date from configuration."""
        name = require(name, "business entity name")
        with self._transaction() as session:
            entity = session.scalar(select(BusinessEntity).where(BusinessEntity.name == name))
            if entity is None:
                entity = BusinessEntity(name=name)
                session.add(entity)
            entity.account_id, entity.region, entity.aws_conn_id = account_id, region, aws_conn_id
            entity.role_arn = role_arn
            session.flush()
            return entity

    def create_use_case(
        self,
        *,
        business_entity: str,
        name: str,
        risk_level: str,
        owner: str,
        description: str = "",
        data_science_email: str | None = None,
        model_type: str = "SAGEMAKER",
        requested_by: str | None = None,
        exist_ok: bool = False,
    ) -> UseCase:
        """Record a proposed use case. Names are unique within a business entity.

        With ``exist_ok`` a use case of the same name and owner is returned instead (a retried task);
        one with another owner is still a duplicate.
        """
        name = require(name, "use case name")
        owner = require(owner, "use case owner")
        try:
            level = RiskLevel(risk_level)
        except ValueError:
            raise InvalidInputError(
                f"Risk level {risk_level!r} of use case {name!r} is not one of High, Medium, Low."
            ) from None
        with self._transaction() as session:
            entity = self._entity(session, business_entity)
            existing = session.scalar(
                select(UseCase).where(UseCase.business_entity_id == entity.id, UseCase.name == name)
            )
            if existing is not None:
                if exist_ok and existing.owner == owner:
                    return existing
                raise DuplicateUseCaseError(
                    f"Use case {name!r} already exists in business entity {business_entity!r} "
                    f"(id {existing.id}, owner {existing.owner}); choose another name."
                )
            use_case = UseCase(
                business_entity=entity,
                name=name,
                description=description,
                risk_level=level.value,
                owner=owner,
                data_science_email=data_science_email,
                model_type=model_type,
                requested_by=requested_by,
                status=UseCaseStatus.PROPOSED.value,
            )
            session.add(use_case)
            try:
                session.flush()
            except IntegrityError:
                raise DuplicateUseCaseError(
                    f"Use case {name!r} was just created in business entity {business_entity!r} by another "
                    "run; choose another name."
                ) from None
            return use_case

    def find_use_case(self, *, business_entity: str, name: str) -> UseCase | None:
        with self._transaction() as session:
            return session.scalar(
                select(UseCase)
                .join(BusinessEntity, UseCase.business_entity_id == BusinessEntity.id)
                .where(BusinessEntity.name == business_entity, UseCase.name == name)
            )

    def get_use_case(self, use_case_id: int) -> UseCase:
        with self._transaction() as session:
            use_case = self._get(session, UseCase, use_case_id, "Use case")
            return use_case

    def set_use_case_status(self, use_case_id: int, status: UseCaseStatus | str) -> UseCase:
        target = UseCaseStatus(status)
        with self._transaction() as session:
            use_case = self._get(session, UseCase, use_case_id, "Use case")
            if use_case.status != UseCaseStatus.PROPOSED.value and use_case.status != target.value:
                raise ConflictError(
                    f"Use case {use_case.name!r} was already decided ({use_case.status}); "
                    f"it cannot become {target.value}."
                )
            use_case.status = target.value
            return use_case

    def link_model_group(self, *, use_case_id: int, name: str, arn: str) -> ModelGroup:
        """Record the SageMaker model package group of a use case (idempotent for the same use case)."""
        check_group_arn(arn)
        with self._transaction() as session:
            use_case = self._get(session, UseCase, use_case_id, "Use case")
            group = self._group_by_arn(session, arn)
            if group is not None:
                if group.use_case_id != use_case_id:
                    raise ConflictError(
                        f"Model package group {name!r} is already linked to use case id {group.use_case_id}."
                    )
                return group
            group = ModelGroup(
                use_case_id=use_case_id, business_entity_id=use_case.business_entity_id, name=name, arn=arn
            )
            session.add(group)
            session.flush()
            return group

    def use_case_of_group(self, model_group_id: int) -> int:
        with self._transaction() as session:
            group = self._get(session, ModelGroup, model_group_id, "Model group")
            return group.use_case_id

    def model_group_of_use_case(self, use_case_id: int) -> ModelGroup | None:
        with self._transaction() as session:
            return session.scalar(select(ModelGroup).where(ModelGroup.use_case_id == use_case_id))

    def business_entity_of_model(self, model: int | str | Model) -> BusinessEntity:
        """The registry (business entity) a model's package lives in."""
        with self._transaction() as session:
            group_id = self._model(session, model).model_group_id
        return self.business_entity_of_group(group_id)

    def business_entity_of_group(self, model_group_id: int) -> BusinessEntity:
        with self._transaction() as session:
            group = session.get(ModelGroup, model_group_id)
            entity = session.get(BusinessEntity, group.business_entity_id) if group is not None else None
            if entity is None:
                raise NotFoundError(
                    f"Model group id {model_group_id} has no business entity in the inventory."
                )
            return entity

    def find_model_group(self, arn: str) -> ModelGroup | None:
        with self._transaction() as session:
            return self._group_by_arn(session, arn)
