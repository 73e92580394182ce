// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @title Escrow of the gpu-exchange marketplace
/// @notice Clients deposit OGPU and withdraw what is not held. The marketplace (SETTLER_ROLE) mirrors
///         its off-chain holds with `setHolds` and settles completed jobs in batches with `settle`:
///         one transaction debits clients, credits providers' claimable balances (pull payments) and
///         the protocol fee, and records the Merkle root of the batch's jobs. No per-job storage or
///         events: a job is proven against its batch's root with `verifyJob`.
/// @dev Invariants: token.balanceOf(this) == sum(balanceOf) + sum(claimableOf) (greater only if
///      tokens are sent to this contract without `deposit`); heldOf(c) <= balanceOf(c) for every c.
///      Amounts are token base units (wei, 18 decimals); a client's balance and held fit in uint128.
contract Escrow is AccessControl, ReentrancyGuard, Pausable {
    using SafeERC20 for IERC20;

    bytes32 public constant SETTLER_ROLE = keccak256("SETTLER_ROLE");
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @dev balance and held share one slot so a settlement debit is one storage write per client.
    struct Account {
        uint128 balance;
        uint128 held;
    }

    IERC20 public immutable token;
    address public feeRecipient;

    mapping(address client => Account) private _accounts;
    mapping(address account => uint256) private _claimable;
    mapping(uint256 batchId => bytes32) private _batchRoots;

    event Deposited(address indexed client, uint256 amount, uint256 newBalance);
    event Withdrawn(address indexed client, uint256 amount, uint256 newBalance);
    event HoldsUpdated(address indexed client, uint256 held);
    event Debited(uint256 indexed batchId, address indexed client, uint256 amount, uint256 newBalance, uint256 newHeld);
    event Credited(uint256 indexed batchId, address indexed account, uint256 amount, uint256 newClaimable);
    event BatchSettled(
        uint256 indexed batchId, bytes32 merkleRoot, uint32 jobCount, uint256 totalDebited, uint256 totalCredited
    );
    event Claimed(address indexed account, address indexed to, uint256 amount);
    event FeeRecipientUpdated(address indexed previous, address indexed current);

    error ZeroAddress();
    error ZeroAmount();
    error LengthMismatch();
    error InsufficientFreeBalance(address client, uint256 free, uint256 requested);
    error InsufficientBalance(address client, uint256 balance, uint256 debit);
    error CreditsExceedDebits(uint256 totalDebited, uint256 totalCredited);
    error BatchAlreadySettled(uint256 batchId);
    error EmptyMerkleRoot();
    error NothingToClaim(address account);

    /// @param token_ the OGPU ERC-20 (a standard token: no fee on transfer, no rebasing).
    /// @param admin receives DEFAULT_ADMIN_ROLE and PAUSER_ROLE; SETTLER_ROLE is granted separately.
    /// @param feeRecipient_ the account whose claimable balance receives protocol fees.
    constructor(IERC20 token_, address admin, address feeRecipient_) {
        if (address(token_) == address(0) || admin == address(0) || feeRecipient_ == address(0)) {
            revert ZeroAddress();
        }
        token = token_;
        feeRecipient = feeRecipient_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(PAUSER_ROLE, admin);
        emit FeeRecipientUpdated(address(0), feeRecipient_);
    }

    // ------------------------------------------------------------------ clients

    /// @notice Moves `amount` tokens from the caller (after `approve`) into the caller's balance.
    function deposit(uint256 amount) external nonReentrant whenNotPaused {
        if (amount == 0) revert ZeroAmount();
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - before;
        Account storage a = _accounts[msg.sender];
        uint128 newBalance = SafeCast.toUint128(uint256(a.balance) + received);
        a.balance = newBalance;
        emit Deposited(msg.sender, received, newBalance);
    }

    /// @notice Sends `amount` of the caller's free balance (balance - held) back to the caller.
    function withdraw(uint256 amount) external nonReentrant whenNotPaused {
        if (amount == 0) revert ZeroAmount();
        Account storage a = _accounts[msg.sender];
        uint256 free = uint256(a.balance) - a.held;
        if (amount > free) revert InsufficientFreeBalance(msg.sender, free, amount);
        uint128 newBalance = a.balance - uint128(amount);
        a.balance = newBalance;
        token.safeTransfer(msg.sender, amount);
        emit Withdrawn(msg.sender, amount, newBalance);
    }

    // ------------------------------------------------------------------ marketplace

    /// @notice Sets absolute held amounts. A hold above the client's balance is clamped to the
    ///         balance (HoldsUpdated carries the stored value), so one client who withdrew before the
    ///         update cannot make the whole batch revert. A client may appear more than once: the
    ///         last entry wins.
    function setHolds(address[] calldata clients, uint256[] calldata amounts)
        external
        onlyRole(SETTLER_ROLE)
        whenNotPaused
    {
        if (clients.length != amounts.length) revert LengthMismatch();
        for (uint256 i; i < clients.length; ++i) {
            Account storage a = _accounts[clients[i]];
            uint256 held = amounts[i] < a.balance ? amounts[i] : a.balance;
            a.held = uint128(held);
            emit HoldsUpdated(clients[i], held);
        }
    }

    /// @notice Settles a batch of jobs. Debits each client (and lowers its held by the debit, not below
    ///         zero), credits each provider's claimable balance, and credits the protocol fee
    ///         sum(debits) - sum(credits) to the fee recipient's claimable balance.
    /// @dev Leaves are keccak256(abi.encode(bytes32 jobId, address provider, uint256 amount,
    ///      bytes32 resultHash)) in a sorted-pair keccak256 tree (OpenZeppelin MerkleProof). The
    ///      contract does not check the leaves against the debits and credits; the indexer and
    ///      auditors can. Repeated addresses are allowed (each entry applies in order).
    /// @param batchId settles at most once (BatchAlreadySettled).
    /// @param merkleRoot root of the batch's job leaves; must not be zero.
    /// @param jobCount number of leaves, recorded in the event only.
    function settle(
        uint256 batchId,
        bytes32 merkleRoot,
        uint32 jobCount,
        address[] calldata clients,
        uint256[] calldata debits,
        address[] calldata providers,
        uint256[] calldata credits
    ) external onlyRole(SETTLER_ROLE) whenNotPaused {
        if (clients.length != debits.length || providers.length != credits.length) revert LengthMismatch();
        if (merkleRoot == bytes32(0)) revert EmptyMerkleRoot();
        if (_batchRoots[batchId] != bytes32(0)) revert BatchAlreadySettled(batchId);
        _batchRoots[batchId] = merkleRoot;

        uint256 totalDebited = _debit(batchId, clients, debits);
        uint256 totalCredited = _credit(batchId, providers, credits);
        if (totalCredited > totalDebited) revert CreditsExceedDebits(totalDebited, totalCredited);
        if (totalDebited != totalCredited) _creditFee(batchId, totalDebited - totalCredited);
        emit BatchSettled(batchId, merkleRoot, jobCount, totalDebited, totalCredited);
    }

    function _debit(uint256 batchId, address[] calldata clients, uint256[] calldata debits)
        private
        returns (uint256 total)
    {
        for (uint256 i; i < clients.length; ++i) {
            address client = clients[i];
            uint256 debit = debits[i];
            Account storage a = _accounts[client];
            Account memory m = a;
            if (debit > m.balance) revert InsufficientBalance(client, m.balance, debit);
            uint128 newBalance = m.balance - uint128(debit);
            uint128 newHeld = m.held > debit ? m.held - uint128(debit) : 0;
            a.balance = newBalance;
            a.held = newHeld;
            total += debit;
            emit Debited(batchId, client, debit, newBalance, newHeld);
        }
    }

    function _credit(uint256 batchId, address[] calldata providers, uint256[] calldata credits)
        private
        returns (uint256 total)
    {
        for (uint256 i; i < providers.length; ++i) {
            address provider = providers[i];
            if (provider == address(0)) revert ZeroAddress();
            uint256 credit = credits[i];
            uint256 newClaimable = _claimable[provider] + credit;
            _claimable[provider] = newClaimable;
            total += credit;
            emit Credited(batchId, provider, credit, newClaimable);
        }
    }

    function _creditFee(uint256 batchId, uint256 fee) private {
        address recipient = feeRecipient;
        uint256 newClaimable = _claimable[recipient] + fee;
        _claimable[recipient] = newClaimable;
        emit Credited(batchId, recipient, fee, newClaimable);
    }

    // ------------------------------------------------------------------ providers and fee recipient

    /// @notice Pays the caller's whole claimable balance to the caller.
    function claim() external returns (uint256) {
        return _claim(msg.sender);
    }

    /// @notice Pays the caller's whole claimable balance to `to`.
    function claimTo(address to) external returns (uint256) {
        if (to == address(0)) revert ZeroAddress();
        return _claim(to);
    }

    function _claim(address to) private nonReentrant whenNotPaused returns (uint256 amount) {
        amount = _claimable[msg.sender];
        if (amount == 0) revert NothingToClaim(msg.sender);
        _claimable[msg.sender] = 0;
        token.safeTransfer(to, amount);
        emit Claimed(msg.sender, to, amount);
    }

    // ------------------------------------------------------------------ admin

    function setFeeRecipient(address feeRecipient_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (feeRecipient_ == address(0)) revert ZeroAddress();
        emit FeeRecipientUpdated(feeRecipient, feeRecipient_);
        feeRecipient = feeRecipient_;
    }

    /// @notice Stops deposit, withdraw, setHolds, settle, claim and claimTo. Views and admin
    ///         functions (roles, setFeeRecipient, unpause) keep working.
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    // ------------------------------------------------------------------ views

    function balanceOf(address client) external view returns (uint256) {
        return _accounts[client].balance;
    }

    function heldOf(address client) external view returns (uint256) {
        return _accounts[client].held;
    }

    /// @notice balance - held: what `withdraw` may take now.
    function freeBalanceOf(address client) external view returns (uint256) {
        Account memory a = _accounts[client];
        return uint256(a.balance) - a.held;
    }

    function claimableOf(address account) external view returns (uint256) {
        return _claimable[account];
    }

    /// @notice The Merkle root a settled batch recorded; zero when the batch is not settled.
    function batchRoot(uint256 batchId) external view returns (bytes32) {
        return _batchRoots[batchId];
    }

    function isSettled(uint256 batchId) external view returns (bool) {
        return _batchRoots[batchId] != bytes32(0);
    }

    /// @notice keccak256(abi.encode(jobId, provider, amount, resultHash)): a job's leaf. The preimage
    ///         is 128 bytes and an inner node's 64, so a leaf cannot pass for an inner node.
    function jobLeaf(bytes32 jobId, address provider, uint256 amount, bytes32 resultHash)
        public
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(jobId, provider, amount, resultHash));
    }

    /// @notice Whether the job (jobId, provider, amount, resultHash) is in settled batch `batchId`,
    ///         given its sorted-pair Merkle proof.
    function verifyJob(
        uint256 batchId,
        bytes32 jobId,
        address provider,
        uint256 amount,
        bytes32 resultHash,
        bytes32[] calldata proof
    ) external view returns (bool) {
        bytes32 root = _batchRoots[batchId];
        if (root == bytes32(0)) return false;
        return MerkleProof.verifyCalldata(proof, root, jobLeaf(jobId, provider, amount, resultHash));
    }
}
