// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

/// @title The accounts of the gpu-exchange Escrow
/// @notice What each client has on deposit, holds and owes, and what each account may claim; the views
///         of them. Settlement (EscrowSettlement) and the clients' side (Escrow) build on it.
/// @dev Invariants: token.balanceOf(escrow) == sum(balanceOf) + sum(claimableOf); heldOf(c) <= balanceOf(c).
abstract contract EscrowLedger is AccessControl, ReentrancyGuard, Pausable {
    bytes32 public constant SETTLER_ROLE = keccak256("SETTLER_ROLE");
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @dev balance and held share one slot so a settlement debit is one storage write per client.
    struct Account {
        uint128 balance;
        uint128 held;
    }

    address public feeRecipient;

    mapping(address client => Account) internal _accounts;
    mapping(address account => uint256) internal _claimable;
    /// @dev What each client owes for settled lines its balance did not cover (its open debts).
    mapping(address client => uint256) internal _debtOf;

    event Credited(uint256 indexed batchId, address indexed account, uint256 amount, uint256 newClaimable);

    error ZeroAddress();
    error LengthMismatch();
    error InsufficientFreeBalance(address client, uint256 free, uint256 requested);
    error InsufficientBalance(address client, uint256 balance, uint256 debit);
    /// @dev A batch's lines do not fit its own debits and credits (the settler's error, not a client's).
    error LinesMismatch();

    /// @dev Credits each provider entry its credit less what `deferred` keeps back (empty: nothing);
    ///      returns the total credited.
    function _credit(uint256 batchId, address[] calldata providers, uint256[] calldata credits, uint256[] memory deferred)
        internal
        returns (uint256 total)
    {
        bool anyDeferred = deferred.length != 0;
        for (uint256 i; i < providers.length; ++i) {
            address provider = providers[i];
            if (provider == address(0)) revert ZeroAddress();
            uint256 credit = credits[i];
            if (anyDeferred) {
                if (deferred[i] > credit) revert LinesMismatch();
                credit -= deferred[i];
            }
            uint256 newClaimable = _claimable[provider] + credit;
            _claimable[provider] = newClaimable;
            total += credit;
            emit Credited(batchId, provider, credit, newClaimable);
        }
    }

    /// @dev Credits the protocol fee to the fee recipient's claimable balance.
    function _creditFee(uint256 batchId, uint256 fee) internal {
        address recipient = feeRecipient;
        uint256 newClaimable = _claimable[recipient] + fee;
        _claimable[recipient] = newClaimable;
        emit Credited(batchId, recipient, fee, newClaimable);
    }

    /// @dev balance - held - debt, not below zero.
    function _freeOf(Account storage a, uint256 debt) internal view returns (uint256) {
        uint256 reserved = uint256(a.held) + debt;
        return a.balance > reserved ? a.balance - reserved : 0;
    }

    // ------------------------------------------------------------------ views

    function balanceOf(address client) external view returns (uint256) {
        return _accounts[client].balance;
    }

    function heldOf(address client) external view returns (uint256) {
        return _accounts[client].held;
    }

    /// @notice balance - held - debt (not below zero): the most an unlocked `withdraw` may take now.
    function freeBalanceOf(address client) external view returns (uint256) {
        return _freeOf(_accounts[client], _debtOf[client]);
    }

    /// @notice What the client owes for settled lines its balance did not cover (open debts).
    function debtOf(address client) external view returns (uint256) {
        return _debtOf[client];
    }

    function claimableOf(address account) external view returns (uint256) {
        return _claimable[account];
    }
}
